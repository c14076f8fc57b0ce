"""A fitted surrogate on disk: surrogate.json (metadata) and one gzip-compressed UBJSON file
per booster (XGBoost's own binary format), the per-class columns beside them as .npy; no
pickle. Every booster's stream is checked before XGBoost reads it (`ubjson.check_ubjson`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nasbench_lite.surrogate.features import PROXY_FILE, SurrogateError, load_proxy_features
from nasbench_lite.surrogate.related import RELATED_FILE, load_related_features
from nasbench_lite.surrogate.ubjson import check_ubjson

# 4: a model holds an error model (`<metric>/error/0`) that sets each cell's interval; 3: it
# may hold final-epoch boosters (`<metric>/final/<m>`) that set each predicted curve's end;
# 2: it may blend related tasks' accuracies (`related_prior`); 1 has none of them.
FORMAT_VERSION = 4
META_NAME = "surrogate.json"


def save_model(model, path: str | Path) -> Path:
    """Write `model` (a `Surrogate`) into directory `path`: surrogate.json (metadata) and one
    gzip-compressed UBJSON file per booster (XGBoost's own binary format; gzip cuts it
    about 4x, and a fixed header time keeps the bytes reproducible). Returns the
    directory."""
    import gzip

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    names = sorted(model.boosters)
    for name in names:
        raw = bytes(model.boosters[name].save_raw("ubj"))
        file = path / (name.replace("/", "-") + ".ubj.gz")
        file.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    meta = {**model.meta, "boosters": names}
    if model.proxy_features is not None:  # float32, read back with allow_pickle=False
        np.save(path / PROXY_FILE, model.proxy_features, allow_pickle=False)
    if model.related_features is not None:
        np.save(path / RELATED_FILE, model.related_features, allow_pickle=False)
    (path / META_NAME).write_text(json.dumps(meta, indent=1, sort_keys=True))
    return path


def read_model(path: str | Path) -> tuple:
    """(boosters, meta, proxy features, related features) of a model written by `save_model`;
    SurrogateError names the file and the problem."""
    import gzip

    import xgboost as xgb

    path = Path(path)
    meta_path = path / META_NAME
    if not meta_path.is_file():
        raise SurrogateError(f"{path}: no {META_NAME}; not a saved surrogate")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SurrogateError(f"{meta_path} is not valid JSON (truncated?): {err}") from err
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SurrogateError(
            f"{meta_path} has no format_version of 1 or more ({version!r}): not a surrogate model"
        )
    if version > FORMAT_VERSION:
        raise SurrogateError(
            f"{meta_path} has format_version {version}; this nasbench-lite reads "
            f"{FORMAT_VERSION} (upgrade nasbench-lite)"
        )
    boosters = {}
    for name in meta.get("boosters", []):
        stem = path / name.replace("/", "-")
        file = stem.with_name(stem.name + ".ubj.gz")
        if not file.is_file():  # written uncompressed (also read)
            file = stem.with_name(stem.name + ".ubj")
        if not file.is_file():
            raise SurrogateError(
                f"{path}: booster {name!r} is missing (neither {stem.name}.ubj.gz nor "
                f"{stem.name}.ubj); the model directory is incomplete"
            )
        booster = xgb.Booster()
        try:
            data = file.read_bytes()
            if file.suffix == ".gz":
                data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise SurrogateError(f"{file} cannot be read as an XGBoost model: {err}") from err
        try:  # XGBoost trusts the lengths in the stream: a truncated one can take gigabytes
            check_ubjson(data)
        except ValueError as err:
            raise SurrogateError(
                f"{file} cannot be read: truncated or corrupt model ({err})"
            ) from err
        try:
            booster.load_model(bytearray(data))
        except xgb.core.XGBoostError as err:
            raise SurrogateError(f"{file} cannot be read as an XGBoost model: {err}") from err
        boosters[name] = booster
    check_complete(meta, boosters, meta_path)
    return boosters, meta, load_proxy_features(path, meta), load_related_features(path, meta)


REQUIRED_META = ("table", "config", "train_classes", "held_out_classes")


def check_complete(meta: dict, boosters: dict, meta_path: Path) -> None:
    """SurrogateError naming `meta_path` unless the model holds what predicting reads: its
    metadata keys, and per modelled metric every member's booster, the seed-noise booster,
    the error model (format 4) and the blend's prior (a model with related tasks)."""
    missing = [key for key in REQUIRED_META if key not in meta]
    config = meta.get("config")
    members = config.get("members") if isinstance(config, dict) else None
    if not isinstance(members, int) or isinstance(members, bool) or members < 1:
        missing.append("config.members")
    if missing:
        raise SurrogateError(f"{meta_path} lacks {', '.join(missing)}: an incomplete model")
    curves = config.get("targets", ["valid_acc", "test_acc"])
    needed = [f"train_seconds/mean/{m}" for m in range(members)]
    for metric in curves:
        needed += [f"{metric}/mean/{m}" for m in range(members)] + [f"{metric}/noise/0"]
        if meta["format_version"] >= 4:
            needed.append(f"{metric}/error/0")
    absent = [name for name in needed if name not in boosters]
    if absent:
        raise SurrogateError(
            f"{meta_path} lists no booster {', '.join(absent[:3])}"
            f"{' ...' if len(absent) > 3 else ''}: an incomplete model"
        )
    prior = meta.get("related_prior")
    if meta.get("related") and not (isinstance(prior, dict) and all(m in prior for m in curves)):
        raise SurrogateError(f"{meta_path} has related tasks but no blend prior for each metric")


def model_versions() -> dict[str, str]:
    """The library versions a fitted model records."""
    from nasbench_lite.table.storage import library_versions

    return library_versions(("numpy", "xgboost", "nasbench-lite"))
