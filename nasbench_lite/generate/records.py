"""What a generation records about the runs that trained a table's chunks: the library
versions and the hardware, with every later run's that differs kept beside the first."""

from __future__ import annotations

import logging

log = logging.getLogger("nasbench_lite.generate.run")


def note_versions(attrs: dict) -> None:
    """Record the library versions that trained the chunks, as `note_hardware` records the
    hardware: a resumed file lists the versions of a later run that differ under "others"
    (or adds them to a merged table's list)."""
    from nasbench_lite.table.storage import library_versions, versions_differ

    mine, previous = library_versions(), attrs.get("versions") or {}
    if "merged" in previous:
        if all(versions_differ(v, mine) for v in previous["merged"]):
            attrs["versions"] = {"merged": [*previous["merged"], mine]}
        return
    first = {k: v for k, v in previous.items() if k != "others"}
    seen = previous.get("others", [])
    if not versions_differ(first, mine):  # the same; a package listed since is added
        attrs["versions"] = {**previous, **{k: v for k, v in mine.items() if k not in first}}
    elif all(versions_differ(v, mine) for v in seen):
        log.warning("library versions %s differ from the file's %s", mine, first)
        attrs["versions"] = {**previous, "others": [*seen, mine]}


def note_hardware(attrs: dict, worker: dict, executor: str) -> None:
    """Record the hardware that trained the chunks; warn when it changes within a file."""
    worker = {**worker, "executor": executor}
    previous = attrs["hardware"]
    if "merged" in previous:  # a merge of tables trained on different hardware: one more
        if worker not in previous["merged"]:
            log.warning("%s differs from the file's hardware %s", worker, previous)
            attrs["hardware"] = {"merged": [*previous["merged"], worker]}
    elif "device_kind" not in previous:  # a new file: only the driver's defaults so far
        attrs["hardware"] = worker
    else:
        first = {k: v for k, v in previous.items() if k != "others"}
        seen = previous.get("others", [])
        if worker != first and worker not in seen:
            # A record written before a key was added (e.g. cpu_model) is the same machine
            # if every key it has agrees: kept as another entry (it says more), no warning.
            if any(worker.get(k) != v for k, v in first.items()):
                log.warning("%s differs from the file's hardware %s", worker, previous)
            attrs["hardware"] = {**previous, "others": [*seen, worker]}
