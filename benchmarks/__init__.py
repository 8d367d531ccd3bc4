"""asv benchmark suite for rtrl_moe (see README, "asv"). Thin wrappers over rtrl_moe.bench."""
