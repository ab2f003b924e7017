"""A checker of GitHub code scanning's rules for third-party SARIF, written from its
documentation ("SARIF support for code scanning", its limits table, and "SARIF file is too
large"), and a port of the fingerprint its upload action computes (github/codeql-action,
``src/fingerprints.ts``), kept as close to that source as Python allows.

It does not share code with receiptcore: it is the other side of the contract.
"""

from __future__ import annotations

import gzip
from pathlib import Path

# "SARIF results exceed ... limits": maximum values per file/run/result/rule.
RUNS_PER_FILE = 20
RESULTS_PER_RUN = 25_000
RULES_PER_RUN = 25_000
EXTENSIONS_PER_RUN = 100
LOCATIONS_PER_RESULT = 10  # "The set of locations where the result was detected up to a maximum of 10"
TAGS_PER_RULE = 20
GZIP_BYTES = 10 * 1000 * 1000  # "For each gzip-compressed SARIF file ... a maximum size of 10 MB"
TEXT_LIMIT = 1024  # shortDescription.text, fullDescription.text
NAME_LIMIT = 255  # reportingDescriptor.name


def problems(log: dict, raw: bytes, root: Path | None = None) -> list[str]:
    """Every way ``log`` breaks GitHub's documented rules (empty when it follows them)."""
    found: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            found.append(what)

    def text(value, what: str, limit: int | None = None) -> None:
        # "You must supply an explicit value for any property marked as required. The empty
        # string is not supported for required properties."
        need(isinstance(value, str) and value != "", f"{what}: required, non-empty string")
        if limit and isinstance(value, str):
            need(len(value) <= limit, f"{what}: over {limit} characters")

    need(len(gzip.compress(raw)) <= GZIP_BYTES, "gzip-compressed file over 10 MB")
    text(log.get("$schema"), "$schema")
    need(log.get("version") == "2.1.0", "version: only 2.1.0 is supported")
    runs = log.get("runs")
    need(isinstance(runs, list) and 1 <= len(runs) <= RUNS_PER_FILE, "runs: 1 to 20")
    for r, run in enumerate(runs or []):
        at = f"runs[{r}]"
        driver = run.get("tool", {}).get("driver", {})
        text(driver.get("name"), f"{at}.tool.driver.name")
        need(len(run.get("tool", {}).get("extensions", [])) <= EXTENSIONS_PER_RUN,
             f"{at}: over 100 tool extensions")
        rules = driver.get("rules")
        need(isinstance(rules, list) and len(rules) <= RULES_PER_RUN,
             f"{at}.tool.driver.rules: required, at most 25,000")
        ids = []
        for i, rule in enumerate(rules or []):
            where = f"{at}.rules[{i}]"
            text(rule.get("id"), f"{where}.id")
            ids.append(rule.get("id"))
            if "name" in rule:
                text(rule["name"], f"{where}.name", NAME_LIMIT)
            text(rule.get("shortDescription", {}).get("text"), f"{where}.shortDescription.text",
                 TEXT_LIMIT)
            text(rule.get("fullDescription", {}).get("text"), f"{where}.fullDescription.text",
                 TEXT_LIMIT)
            text(rule.get("help", {}).get("text"), f"{where}.help.text")
            level = rule.get("defaultConfiguration", {}).get("level", "warning")
            need(level in ("note", "warning", "error"), f"{where}.defaultConfiguration.level")
            props = rule.get("properties", {})
            need(len(props.get("tags", [])) <= TAGS_PER_RULE, f"{where}: over 20 tags")
            if "precision" in props:
                need(props["precision"] in ("very-high", "high", "medium", "low"),
                     f"{where}.properties.precision")
            if "problem.severity" in props:
                need(props["problem.severity"] in ("error", "warning", "recommendation"),
                     f"{where}.properties.problem.severity")
            if "security-severity" in props:
                severity = props["security-severity"]
                try:
                    ok = isinstance(severity, str) and 0.0 < float(severity) <= 10.0
                except ValueError:
                    ok = False
                need(ok, f"{where}.properties.security-severity: a string over 0.0, up to 10.0")
        bases = run.get("originalUriBaseIds", {})
        for name, base in bases.items():
            uri = base.get("uri", "")
            need(uri.endswith("/"), f"{at}.originalUriBaseIds.{name}.uri must end with '/'")
        results = run.get("results")
        need(isinstance(results, list) and len(results) <= RESULTS_PER_RUN,
             f"{at}.results: required, at most 25,000")
        for k, result in enumerate(results or []):
            where = f"{at}.results[{k}]"
            text(result.get("message", {}).get("text"), f"{where}.message.text")
            if "ruleId" in result:
                need(result["ruleId"] in ids, f"{where}.ruleId names no rule")
            if "ruleIndex" in result:
                index = result["ruleIndex"]
                need(isinstance(index, int) and 0 <= index < len(ids)
                     and ids[index] == result.get("ruleId", ids[index]),
                     f"{where}.ruleIndex does not point at its rule")
            need(result.get("level", "warning") in ("none", "note", "warning", "error"),
                 f"{where}.level")
            locations = result.get("locations")
            need(isinstance(locations, list) and 1 <= len(locations) <= LOCATIONS_PER_RESULT,
                 f"{where}.locations: 1 to 10 (GitHub shows a result only with a location)")
            for location in locations or []:
                physical = location.get("physicalLocation", {})
                artifact = physical.get("artifactLocation", {})
                text(artifact.get("uri"), f"{where}.artifactLocation.uri")
                if "uriBaseId" in artifact:
                    need(artifact["uriBaseId"] in bases,
                         f"{where}: uriBaseId {artifact['uriBaseId']} not in originalUriBaseIds")
                region = physical.get("region", {})
                for key in ("startLine", "startColumn", "endLine", "endColumn"):
                    need(isinstance(region.get(key), int) and region[key] >= 1,
                         f"{where}.region.{key}: required")
                if root is not None and not artifact.get("uri", "/").endswith("/"):
                    need(not (root / artifact["uri"]).is_dir(),
                         f"{where}: located on a directory, which GitHub cannot show")
            fingerprint = result.get("partialFingerprints", {}).get("primaryLocationLineHash")
            text(fingerprint, f"{where}.partialFingerprints.primaryLocationLineHash "
                 "(the only fingerprint code scanning uses)")
            if root is not None and locations:
                _same_fingerprint(result, locations[0], root, need, where)
    return found


def _same_fingerprint(result, location, root: Path, need, where: str) -> None:
    """What the upload action does with a result whose file it can read: computes the line
    hash and warns when the one given differs."""
    from urllib.parse import unquote

    physical = location["physicalLocation"]
    path = root / unquote(physical["artifactLocation"]["uri"])
    if not path.is_file() or path.is_symlink():
        return
    line = physical.get("region", {}).get("startLine", 1)
    given = result["partialFingerprints"]["primaryLocationLineHash"]
    computed = {}

    def callback(line_number: int, value: str) -> None:
        computed.setdefault(line_number, value)

    hash_file(callback, path)
    need(computed.get(line) == given, f"{where}: primaryLocationLineHash {given!r} but the "
         f"upload action computes {computed.get(line)!r}")


# fingerprints.ts, ported.
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13
_EOF = 65535
_BLOCK_SIZE = 100
_MOD = 37
_U64 = (1 << 64) - 1


def _first_mod() -> int:
    first = 1
    for _ in range(_BLOCK_SIZE):
        first = (first * _MOD) & _U64
    return first


def hash_file(callback, filepath: Path) -> None:
    window = [0] * _BLOCK_SIZE
    line_numbers = [-1] * _BLOCK_SIZE
    state = {"hash": 0, "index": 0, "line": 0, "line_start": True, "prev_cr": False}
    first_mod = _first_mod()
    hash_counts: dict[str, int] = {}

    def output_hash() -> None:
        value = format(state["hash"], "x")
        hash_counts[value] = hash_counts.get(value, 0) + 1
        callback(line_numbers[state["index"]], f"{value}:{hash_counts[value]}")
        line_numbers[state["index"]] = -1

    def update_hash(current: int) -> None:
        begin = window[state["index"]]
        window[state["index"]] = current
        state["hash"] = (_MOD * state["hash"] + current - first_mod * begin) & _U64
        state["index"] = (state["index"] + 1) % _BLOCK_SIZE

    def process_character(current: int) -> None:
        if current in (_SPACE, _TAB) or (state["prev_cr"] and current == _LF):
            state["prev_cr"] = False
            return
        if current == _CR:
            current = _LF
            state["prev_cr"] = True
        else:
            state["prev_cr"] = False
        if line_numbers[state["index"]] != -1:
            output_hash()
        if state["line_start"]:
            state["line_start"] = False
            state["line"] += 1
            line_numbers[state["index"]] = state["line"]
        if current == _LF:
            state["line_start"] = True
        update_hash(current)

    # fs.createReadStream(filepath, "utf8"), then charCodeAt: UTF-16 code units.
    data = filepath.read_bytes().decode("utf-8", errors="replace").encode("utf-16-le",
                                                                         "surrogatepass")
    for i in range(0, len(data), 2):
        process_character(data[i] | data[i + 1] << 8)
    process_character(_EOF)
    for _ in range(_BLOCK_SIZE):
        if line_numbers[state["index"]] != -1:
            output_hash()
        update_hash(0)
