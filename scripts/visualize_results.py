"""Document 004's plotting command: ``python scripts/visualize_results.py --results_file
outputs/policy/125m/results.json --output_dir figures`` (ponderttt.experiments.visualize_results)."""
import sys

from ponderttt.experiments.visualize_results import main

if __name__ == "__main__":
    sys.exit(main())
