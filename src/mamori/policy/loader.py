"""Reading a policy file and reporting everything wrong with it, line by line.

The policy file is written by a privacy officer, not a programmer, so the loader
never stops at the first mistake and never lets a traceback out: whatever the
bytes, the answer is a ``Policy`` or a list of ``Problem``s, each with the line
it is on and a sentence naming the purpose, category or field concerned.

Shape checks come from the pydantic models in ``schemas``; the cross-references
(a channel naming an unknown purpose, provision to third parties on a contract
basis, ...) are checked here, once the shape is right. The loader never writes
anything and never decides what the software does with a valid policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import ValidationError

from mamori.errors import PolicyError
from mamori.policy.parties import party_findings
from mamori.policy.problems import (
    SECTIONS,
    Problem,
    describe_errors,
    path_text,
)
from mamori.policy.schemas import LegalBasis, Policy
from mamori.policy.system import SYSTEM_PURPOSES
from mamori.policy.taxonomy import (
    Finding,
    Loc,
    category_problems,
    data_use_problem,
    flag_problems,
    special_care_problems,
    suggest,
)

__all__ = ["Problem", "check_policy_file", "check_policy_text", "load_policy", "policy_digest"]

LineMap = dict[Loc, int]
_MERGE_TAG = "tag:yaml.org,2002:merge"


try:  # libyaml parses the example policy about 15 times faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _PolicyLoader(_SafeLoader):
    """A safe loader that keeps an impossible date (2026-02-30) as text.

    PyYAML raises a bare ValueError for such a date, with no line; left as text,
    the schema reports it as a bad date at its own line.
    """


def _lenient_timestamp(loader: _PolicyLoader, node: yaml.ScalarNode) -> object:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_PolicyLoader.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)


# --- public API -------------------------------------------------------------


def load_policy(path: Path) -> Policy:
    """The policy in ``path``; raises ``PolicyError`` carrying every problem."""
    policy, problems = check_policy_file(path)
    if policy is None or problems:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        raise PolicyError(f"the policy file {path} has {count} {noun}", problems=problems)
    return policy


def check_policy_file(path: Path) -> tuple[Policy | None, list[Problem]]:
    """Read and check ``path``: the Policy (None if any problem) and all problems."""
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return None, [Problem(None, "", f"cannot read the policy file {path}: {reason}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"{path} is not UTF-8 text (Shift_JIS, for one, is not read); save it as UTF-8"
        return None, [Problem(line, "", message)]
    return check_policy_text(text, source=str(path))


def check_policy_text(
    text: str, *, source: str = "<policy>"
) -> tuple[Policy | None, list[Problem]]:
    """Check a policy given as text: the Policy (None if any problem) and all problems."""
    parsed = _parse_yaml(text, source)
    if isinstance(parsed, Problem):
        return None, [parsed]
    data, lines, problems = parsed
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        message = f"{source} must be a mapping of sections (company:, purposes:, ...), not {kind}"
        return None, [*problems, Problem(lines.get(()), "", message)]
    policy, findings = _validate(data)
    problems += [_problem(lines, loc, message) for loc, message in findings]
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return (policy if not problems else None), problems


def policy_digest(path_or_text: Path | str | bytes) -> str:
    """The sha256 hex digest of the policy's bytes, to freeze a notice version.

    A ``Path`` is read as bytes; a ``str`` is the policy text itself (UTF-8).
    """
    if isinstance(path_or_text, Path):
        data = path_or_text.read_bytes()
    elif isinstance(path_or_text, str):
        data = path_or_text.encode("utf-8")
    else:
        data = path_or_text
    return hashlib.sha256(data).hexdigest()


# --- YAML -------------------------------------------------------------------


def _parse_yaml(text: str, source: str) -> tuple[object, LineMap, list[Problem]] | Problem:
    """The data, the line of every node and duplicate-key problems; or one Problem."""
    loader: _PolicyLoader | None = None
    try:
        loader = _PolicyLoader(text)
        node = loader.get_single_node()
        if node is None:
            return Problem(None, "", f"{source} is empty; a policy file needs its sections")
        lines, duplicates = _map_lines(node)
        return loader.construct_document(node), lines, duplicates
    except yaml.MarkedYAMLError as exc:
        return _syntax_problem(exc)
    except yaml.reader.ReaderError as exc:
        return _character_problem(text, exc)
    except UnicodeEncodeError:
        return Problem(None, "", "the text contains a lone surrogate, which is not Unicode")
    except yaml.YAMLError as exc:
        return Problem(None, "", f"the file is not valid YAML: {exc}")
    except RecursionError:
        return Problem(None, "", "the file nests lists or mappings too deeply")
    finally:
        if loader is not None:
            loader.dispose()


def _character_problem(text: str, exc: yaml.reader.ReaderError) -> Problem:
    # libyaml counts the position in bytes, PyYAML in characters: find the character.
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    offset = text.find(chr(code))
    line = text[:offset].count("\n") + 1 if offset >= 0 else None
    return Problem(line, "", f"the file contains a character YAML does not allow (#x{code:04X})")


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    detail = "; ".join(part for part in (exc.context, exc.problem) if part)
    return Problem(line, "", f"the file is not valid YAML: {detail or exc}")


def _map_lines(root: yaml.Node) -> tuple[LineMap, list[Problem]]:
    """The 1-based line of every mapping key and list item, by its path.

    Walks without recursion and visits a node shared through an alias once, so
    that neither a deep file nor an alias bomb can exhaust the walk.
    """
    lines: LineMap = {(): root.start_mark.line + 1}
    duplicates: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[Loc, yaml.Node]] = [((), root)]
    while stack:
        loc, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for child_loc, line, child in _children(loc, node, duplicates):
            lines[child_loc] = line
            stack.append((child_loc, child))
    return lines, duplicates


def _children(
    loc: Loc, node: yaml.Node, duplicates: list[Problem]
) -> Iterable[tuple[Loc, int, yaml.Node]]:
    if isinstance(node, yaml.SequenceNode):
        return [
            ((*loc, index), item.start_mark.line + 1, item) for index, item in enumerate(node.value)
        ]
    if not isinstance(node, yaml.MappingNode):
        return []
    children: list[tuple[Loc, int, yaml.Node]] = []
    first_line: dict[tuple[str, str], int] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
            continue
        line = key.start_mark.line + 1
        first = first_line.get((key.tag, key.value))
        if first is not None:
            message = (
                f"'{key.value}' appears twice in the same mapping (first on line {first}); "
                "YAML would keep only the last one"
            )
            duplicates.append(Problem(line, path_text((*loc, key.value)), message))
        first_line.setdefault((key.tag, key.value), line)
        children.append(((*loc, key.value), line, value))
    return children


def _problem(lines: LineMap, loc: Loc, message: str) -> Problem:
    """A Problem at ``loc``'s line, or its nearest parent's when ``loc`` is absent."""
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return Problem(line, path_text(loc), message)
    return Problem(None, path_text(loc), message)


# --- checks -----------------------------------------------------------------


def _validate(data: dict[object, object]) -> tuple[Policy | None, list[Finding]]:
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        return None, describe_errors(exc.errors(include_url=False), data)
    return policy, cross_reference_findings(policy)


def cross_reference_findings(policy: Policy) -> list[Finding]:
    """Every reference between sections that points nowhere or breaks a rule."""
    checks: Sequence[Callable[[Policy], list[Finding]]] = (
        _duplicate_keys,
        _purpose_references,
        _channel_references,
        _role_references,
        _provision_bases,
        _company_calendar,
        party_findings,
    )
    findings = [finding for check in checks for finding in check(policy)]
    findings += category_problems(policy.data_categories)
    findings += flag_problems(policy.data_categories)
    findings += special_care_problems(policy)
    return findings


def _repeats(values: Sequence[Hashable]) -> list[tuple[int, int]]:
    """(index, index of the first occurrence) for every value seen before."""
    first: dict[Hashable, int] = {}
    repeats = []
    for index, value in enumerate(values):
        if value in first:
            repeats.append((index, first[value]))
        first.setdefault(value, index)
    return repeats


def _duplicate_keys(policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for section, noun in SECTIONS.items():
        items = getattr(policy, section)
        for index, first in _repeats([item.key for item in items]):
            message = (
                f"{noun} key '{items[index].key}' is declared twice "
                f"(first as {section}[{first}]); keys must be unique"
            )
            findings.append(((section, index, "key"), message))
    for index, purpose in enumerate(policy.purposes):
        if purpose.key in SYSTEM_PURPOSES:
            message = f"purpose key '{purpose.key}' is reserved for a system purpose"
            findings.append((("purposes", index, "key"), message))
    return findings


def _purpose_references(policy: Policy) -> list[Finding]:
    declared = {category.key for category in policy.data_categories}
    findings: list[Finding] = []
    for i, purpose in enumerate(policy.purposes):
        name = f"purpose '{purpose.key}'"
        for j, category in enumerate(purpose.categories):
            if category not in declared:
                message = (
                    f"{name} uses category '{category}', which is not declared under "
                    f"data_categories{suggest(category, declared)}"
                )
                findings.append((("purposes", i, "categories", j), message))
        for j, _first in _repeats(purpose.categories):
            message = f"{name} lists category '{purpose.categories[j]}' twice"
            findings.append((("purposes", i, "categories", j), message))
        unknown_use = data_use_problem(purpose.data_use)
        if unknown_use:
            findings.append((("purposes", i, "data_use"), f"{name}: {unknown_use}"))
    return findings


def _channel_references(policy: Policy) -> list[Finding]:
    purposes = {purpose.key for purpose in policy.purposes}
    kinds = {kind.key for kind in policy.subject_kinds}
    findings: list[Finding] = []
    for i, channel in enumerate(policy.channels):
        name = f"channel '{channel.key}'"
        if channel.subject_kind not in kinds:
            message = (
                f"{name} collects from subject kind '{channel.subject_kind}', which is not "
                f"declared under subject_kinds{suggest(channel.subject_kind, kinds)}"
            )
            findings.append((("channels", i, "subject_kind"), message))
        for j, purpose in enumerate(channel.purposes):
            if purpose not in purposes:
                message = (
                    f"{name} announces purpose '{purpose}', which is not declared under "
                    f"purposes{suggest(purpose, purposes)}"
                )
                findings.append((("channels", i, "purposes", j), message))
    return findings


def _role_references(policy: Policy) -> list[Finding]:
    known = {purpose.key for purpose in policy.purposes} | set(SYSTEM_PURPOSES)
    findings: list[Finding] = []
    for i, role in enumerate(policy.roles):
        for k, permission in enumerate(role.permissions):
            for j, purpose in enumerate(permission.purposes):
                if purpose in known:
                    continue
                message = (
                    f"role '{role.key}' is allowed purpose '{purpose}', which is neither "
                    f"declared under purposes nor a system purpose{suggest(purpose, known)}"
                )
                findings.append((("roles", i, "permissions", k, "purposes", j), message))
    return findings


def _provision_bases(policy: Policy) -> list[Finding]:
    findings: list[Finding] = []
    for i, purpose in enumerate(policy.purposes):
        if purpose.third_party_provision and purpose.legal_basis is LegalBasis.CONTRACT:
            message = (
                f"purpose '{purpose.key}' provides data to third parties but rests on a "
                "contract; a provision needs the person's consent, an announced joint use "
                "or a legal exception (APPI Art. 27), so its legal_basis should be consent"
            )
            findings.append((("purposes", i, "legal_basis"), message))
    return findings


def _company_calendar(policy: Policy) -> list[Finding]:
    company = policy.company
    findings: list[Finding] = []
    for index, _first in _repeats(company.holidays):
        message = f"company holiday {company.holidays[index].isoformat()} is listed twice"
        findings.append((("company", "holidays", index), message))
    findings += _business_hours(policy)
    if not _is_timezone(company.timezone):
        known = set(available_timezones())
        message = (
            f"timezone '{company.timezone}' is not a known IANA time zone"
            f"{suggest(company.timezone, known)}"
        )
        findings.append((("company", "timezone"), message))
    return findings


def _business_hours(policy: Policy) -> list[Finding]:
    hours = policy.company.business_hours
    loc: Loc = ("company", "business_hours")
    opening, closing = _clock(hours.open), _clock(hours.close)
    findings: list[Finding] = []
    for field, value, parsed in (("open", hours.open, opening), ("close", hours.close, closing)):
        if parsed is None:
            findings.append(((*loc, field), f"business hours '{value}' is not a time of day"))
    if opening is not None and closing is not None and opening >= closing:
        message = (
            f"business hours open at {hours.open} but close at {hours.close}; "
            "opening must come before closing"
        )
        findings.append(((*loc, "close"), message))
    return findings


def _clock(text: str) -> time | None:
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def _is_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True
