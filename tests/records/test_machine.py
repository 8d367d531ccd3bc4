from rtrl_moe.records.machine import git_info, machine_info, new_run_id


def test_machine_info_fields():
    m = machine_info()
    for k in ("machine_id", "hostname", "cpu", "cores", "ram_bytes", "gpu", "gpu_driver", "cuda",
              "torch", "python", "platform"):
        assert k in m
    assert m["cores"] >= 1 and m["ram_bytes"] > 0 and len(m["machine_id"]) == 12


def test_commit_unknown_outside_git(tmp_path):
    assert git_info(str(tmp_path)) == {"commit": "unknown", "dirty": None}


def test_run_id_format():
    import re
    assert re.fullmatch(r"\d{8}T\d{4}Z-[0-9a-f]{6}", new_run_id())


def test_machine_id_is_hardware_and_software_not_the_hostname():
    from rtrl_moe.records.machine import machine_id
    a = {"hostname": "vm", "cpu": "AMD EPYC", "cores": 2, "ram_bytes": 25276514304,
         "gpu": None, "gpu_count": 0, "torch": "2.13.0+cpu"}
    same = {**a, "hostname": "another-vm", "ram_bytes": 25276502016, "platform": "x"}
    assert machine_id(a) == machine_id(same)
    for change in ({"cores": 4}, {"torch": "2.14.1"}, {"gpu": "H100", "gpu_count": 1},
                   {"ram_bytes": 2 * 25276514304}, {"cpu": "Intel Xeon"}):
        assert machine_id({**a, **change}) != machine_id(a), change


def test_code_fingerprints_change_with_the_source_they_cover(tmp_path):
    import shutil

    from rtrl_moe.records.provenance import PACKAGE, code_fingerprints, stale_parts
    copy = tmp_path / "rtrl_moe"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = code_fingerprints(str(copy))
    assert before == code_fingerprints(str(PACKAGE))
    (copy / "learners" / "rtrl.py").write_text((copy / "learners" / "rtrl.py").read_text() + "#\n")
    after = code_fingerprints(str(copy))
    assert after["library"] != before["library"] and after["harness"] == before["harness"]
    assert stale_parts({"code": before}, after) == ["library"]
    assert stale_parts({"code": after}, after) == []
    assert stale_parts({}, after) is None


def test_a_record_is_stale_only_for_the_files_it_names(tmp_path):
    import shutil

    from rtrl_moe.records.provenance import PACKAGE, code_fingerprints, stale_parts
    copy = tmp_path / "rtrl_moe"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    files = ["moe.py", "learners/bptt.py", "learners/base.py"]
    rec = {"code": code_fingerprints(str(copy), files)}
    (copy / "learners" / "rtrl.py").write_text("# another learner changed\n")
    assert stale_parts(rec, root=str(copy)) == []
    (copy / "learners" / "bptt.py").write_text("# this one changed\n")
    assert stale_parts(rec, root=str(copy)) == ["library"]


def test_dirty_means_code_not_results(tmp_path):
    import subprocess
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.jsonl").write_text("{}\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    git_info.cache_clear()
    assert git_info(str(tmp_path))["dirty"] is False
    (tmp_path / "results" / "r.jsonl").write_text("{}\n{}\n")      # a sweep appended a record
    git_info.cache_clear()
    assert git_info(str(tmp_path))["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")                  # the code changed
    git_info.cache_clear()
    assert git_info(str(tmp_path))["dirty"] is True
