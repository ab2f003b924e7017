"""The scan's configuration: ``[tool.receiptcore.scan]`` in pyproject.toml, or ``[scan]`` in
receiptcore.toml.

A gate that silently ignores a misspelt knob is a gate that is not there, so every unknown key is
a :class:`~receiptcore.errors.ConfigError` naming the key and the file. Sizes are written as
bytes (``1048576``) or with a unit (``"1 MiB"``, ``"500 KB"``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from receiptcore.errors import ConfigError
from receiptcore.scan.catalogue import RULE_IDS

CONFIG_FILES = ("receiptcore.toml", "pyproject.toml")

DEFAULT_WEIGHT_EXTENSIONS = (
    ".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".gguf", ".h5", ".pkl", ".joblib", ".tflite",
)
# Vector stores with no content signature to confirm (Annoy's headerless node array, Qdrant's
# snapshot tar): only their names can give them away.
DEFAULT_VECTOR_EXTENSIONS = (".ann", ".snapshot")
DEFAULT_FORBIDDEN_DIRS = ("datasets", "corpus", "prompts_dump", "embeddings_dump")
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
DEFAULT_ONNX_SIZE_THRESHOLD = 1024 * 1024
DEFAULT_BASELINE = "receiptcore-scan-baseline.json"
DEFAULT_IMPORT_PATHS = (".", "src", "python")


@dataclass(frozen=True)
class AllowEntry:
    """A path prefix (``data/``) or exact path whose large files are allowed, and why.

    ``ignored_only``: the entry excuses a file only while git ignores it and does not track it,
    so a force-added file under an allowed folder is still a finding.
    """

    path: str
    reason: str
    ignored_only: bool = False

    def matches(self, rel_path: str) -> bool:
        prefix = self.path.rstrip("/")
        return rel_path == prefix or rel_path.startswith(prefix + "/")


DEFAULT_ALLOW_LARGE = (
    AllowEntry("data/", "local data, allowed only while git-ignored (never committed)", True),
    AllowEntry("artifacts/", "local build outputs, allowed only while git-ignored", True),
)


@dataclass(frozen=True)
class ImportContract:
    """``modules`` (and their submodules) may not import ``forbidden`` (and their submodules),
    directly or through other modules."""

    name: str
    modules: tuple[str, ...]
    forbidden: tuple[str, ...]
    ignore_type_checking: bool = False


@dataclass(frozen=True)
class ScanConfig:
    mode: str = "enforce"
    baseline: str = DEFAULT_BASELINE
    disable: tuple[str, ...] = ()
    weight_extensions: tuple[str, ...] = DEFAULT_WEIGHT_EXTENSIONS
    onnx_size_threshold: int = DEFAULT_ONNX_SIZE_THRESHOLD
    vector_extensions: tuple[str, ...] = DEFAULT_VECTOR_EXTENSIONS
    forbidden_dirs: tuple[str, ...] = DEFAULT_FORBIDDEN_DIRS
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    allow_large: tuple[AllowEntry, ...] = DEFAULT_ALLOW_LARGE
    import_paths: tuple[str, ...] = DEFAULT_IMPORT_PATHS
    contracts: tuple[ImportContract, ...] = ()
    # Remember each blob's verdict by git object id (in the user's cache), so a repeated scan
    # reads only content it has not seen.
    cache: bool = True
    source: str | None = field(default=None, compare=False)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(value: Any, key: str, where: str) -> int:
    """Bytes from an int or a string such as ``"1 MiB"`` or ``"500 KB"``."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: '{key}' must be a size such as 1048576 or \"1 MiB\"")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            unit = (match.group(2) or "B").lower()
            return int(float(match.group(1)) * _UNITS[unit])
    raise ConfigError(f"{where}: '{key}' must be a size such as 1048576 or \"1 MiB\", got {value!r}")


def find_config(root: Path) -> tuple[Path, dict[str, Any]] | None:
    """The first of receiptcore.toml ``[scan]`` / pyproject.toml ``[tool.receiptcore.scan]``
    found in ``root``, with its table; None when neither has one."""
    for name in CONFIG_FILES:
        path = root / name
        if path.is_file():
            data = _read_toml(path)
            table = data.get("scan") if name == "receiptcore.toml" else (
                data.get("tool", {}).get("receiptcore", {}).get("scan"))
            if table is not None:
                return path, table
    return None


def load_config(root: Path, path: Path | None = None) -> ScanConfig:
    """The configuration for a scan of ``root``: from ``path`` if given, else found in ``root``,
    else the defaults."""
    if path is not None:
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            table = data.get("tool", {}).get("receiptcore", {}).get("scan")
        else:
            table = data.get("scan", data)
        if table is None:
            raise ConfigError(f"{path}: no [tool.receiptcore.scan] table")
        return parse_config(table, str(path))
    found = find_config(root)
    if found is None:
        return ScanConfig()
    return parse_config(found[1], str(found[0]))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config: {error.strerror}") from None


_KEYS = {
    "mode", "baseline", "disable", "weight_extensions", "onnx_size_threshold",
    "vector_extensions", "forbidden_dirs", "max_file_size", "allow_large", "import_paths",
    "contracts", "cache",
}


def parse_config(table: dict[str, Any], where: str) -> ScanConfig:
    """A ScanConfig from a parsed TOML table; every unknown key or wrong type is a ConfigError."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: the scan configuration must be a table")
    _reject_unknown(table, _KEYS, where, "")
    defaults = ScanConfig()
    mode = table.get("mode", defaults.mode)
    if mode not in ("enforce", "warn"):
        raise ConfigError(f"{where}: 'mode' must be \"enforce\" or \"warn\", got {mode!r}")
    disable = _strings(table, "disable", where, defaults.disable)
    for rule in disable:
        if rule not in RULE_IDS:
            raise ConfigError(f"{where}: 'disable' names unknown rule {rule!r} "
                              f"(rules: {', '.join(RULE_IDS)})")
    extensions = _extensions(table, "weight_extensions", where, defaults.weight_extensions)
    dirs = tuple(d.strip("/") for d in
                 _strings(table, "forbidden_dirs", where, defaults.forbidden_dirs))
    cache = table.get("cache", defaults.cache)
    if not isinstance(cache, bool):
        raise ConfigError(f"{where}: 'cache' must be true or false")
    return ScanConfig(
        mode=mode,
        baseline=_string(table, "baseline", where, defaults.baseline),
        disable=disable,
        weight_extensions=extensions,
        onnx_size_threshold=parse_size(table.get("onnx_size_threshold",
                                                 defaults.onnx_size_threshold),
                                       "onnx_size_threshold", where),
        vector_extensions=_extensions(table, "vector_extensions", where,
                                      defaults.vector_extensions),
        forbidden_dirs=dirs,
        max_file_size=parse_size(table.get("max_file_size", defaults.max_file_size),
                                 "max_file_size", where),
        allow_large=defaults.allow_large + _allow_entries(table.get("allow_large", []), where),
        import_paths=_strings(table, "import_paths", where, defaults.import_paths),
        contracts=_contracts(table.get("contracts", []), where),
        cache=cache,
        source=where,
    )


def _reject_unknown(table: dict[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{where}: unknown key '{prefix}{key}' in the scan configuration "
                              f"(known: {', '.join(sorted(known))})")


def _string(table: dict[str, Any], key: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def _extensions(table: dict[str, Any], key: str, where: str,
                default: tuple[str, ...]) -> tuple[str, ...]:
    """``["pt", ".CKPT"]`` -> ``(".pt", ".ckpt")``: a leading dot is added, case is ignored."""
    return tuple((e if e.startswith(".") else "." + e).lower()
                 for e in _strings(table, key, where, default))


def _strings(table: dict[str, Any], key: str, where: str,
             default: tuple[str, ...]) -> tuple[str, ...]:
    value = table.get(key, default)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(value)


def _allow_entries(value: Any, where: str) -> tuple[AllowEntry, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: 'allow_large' must be an array of tables "
                          "([[tool.receiptcore.scan.allow_large]])")
    entries = []
    for i, item in enumerate(value):
        name = f"allow_large[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: '{name}' must be a table with 'path' and 'reason'")
        _reject_unknown(item, {"path", "reason", "ignored_only"}, where, f"{name}.")
        if "reason" not in item:
            raise ConfigError(f"{where}: '{name}' needs a 'reason' (why may this file be large?)")
        ignored_only = item.get("ignored_only", False)
        if not isinstance(ignored_only, bool):
            raise ConfigError(f"{where}: '{name}.ignored_only' must be true or false")
        entries.append(AllowEntry(_string(item, "path", where, ""),
                                  _string(item, "reason", where, ""), ignored_only))
    return tuple(entries)


def _contracts(value: Any, where: str) -> tuple[ImportContract, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: 'contracts' must be an array of tables "
                          "([[tool.receiptcore.scan.contracts]])")
    contracts = []
    for i, item in enumerate(value):
        name = f"contracts[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: '{name}' must be a table with 'modules' and 'forbidden'")
        _reject_unknown(item, {"name", "modules", "forbidden", "ignore_type_checking"}, where,
                        f"{name}.")
        for key in ("modules", "forbidden"):
            if key not in item:
                raise ConfigError(f"{where}: '{name}' needs '{key}'")
        modules = tuple(m.removesuffix(".*") for m in _strings(item, "modules", where, ()))
        forbidden = tuple(m.removesuffix(".*") for m in _strings(item, "forbidden", where, ()))
        for module in modules + forbidden:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", module):
                raise ConfigError(f"{where}: '{name}' names {module!r}, not a module name")
        ignore_tc = item.get("ignore_type_checking", False)
        if not isinstance(ignore_tc, bool):
            raise ConfigError(f"{where}: '{name}.ignore_type_checking' must be true or false")
        label = item.get("name", f"{', '.join(modules)} must not import {', '.join(forbidden)}")
        if not isinstance(label, str):
            raise ConfigError(f"{where}: '{name}.name' must be a string")
        contracts.append(ImportContract(label, modules, forbidden, ignore_tc))
    return tuple(contracts)
