"""The one selector grammar: what ``--select``, the config, inline comments and the language server
mean by a rule code, and the presets.

A selector is, case-insensitively, one of:

* ``ALL`` — every rule;
* a preset — ``recommended``, ``security``, ``ml``, ``reproducible``, ``size``, ``hadolint``
  (``all`` is ``ALL``); membership is data over the rule metadata (``PRESETS``);
* a rule id (``DA204``) or an id prefix (``DA2``, ``DA20``, ``DA``): the prefix's letters are the
  id's letters and its digits start the id's digits (``D`` and ``DA2x`` are not prefixes);
* a rule name (``apt-unpinned``);
* an alias a rule carries: a hadolint id (``DL3008``) or a BuildKit check name (``JSONArgsRecommended``);
* a ShellCheck code (``SC2086``), which names the rule that reports ShellCheck's findings (DA703).

``matches`` is the one matcher.  Given a finding's ``alias`` it matches findings rather than rules: a
code that names one part of a rule (``DL3033``, the yum part of DA210; ``SC2086`` of DA703) matches
only the findings of that part.  Rule selection (``select_rules``) works on whole rules: ``--select
DL3033`` runs DA210; but ``--ignore DL3033`` (``names_part``) leaves DA210 on and the run's findings
filter drops the yum findings, as ``# hadolint ignore=DL3033`` does.

Off-by-default rules (``enabled=False``) run under ``select`` only when a selector names them
specifically — an id, a name, an alias or a preset that holds them — not through a prefix or ``ALL``;
``extend-select`` turns on every rule it matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from dockaudit.plugin import Rule
from dockaudit.patterns import lazy_pattern

ALL = "ALL"
SHELLCHECK_RULE = "DA703"  # passes ShellCheck's findings through, each tagged with its SC code
_SHELLCHECK_CODE = lazy_pattern(r"\ASC\d{4}\Z")
_HADOLINT_CODE = lazy_pattern(r"\ADL\d{4}\Z")
_ID = lazy_pattern(r"\A([A-Z]+)(\d*)\Z")


class Preset:
    """A named set of rules, defined over rule metadata so that it follows the rule modules: the rule
    families it takes whole, explicit ids where a family does not say it, and an optional test.
    A plain class (the presets are a fixed table, never compared): a generated dataclass costs ~1 ms
    of every run's start-up."""

    __slots__ = ("name", "summary", "families", "ids", "test")

    def __init__(self, name: str, summary: str, families: frozenset[str] = frozenset(),
                 ids: frozenset[str] = frozenset(), test: Callable[[Rule], bool] | None = None) -> None:  # fmt: skip
        self.name = name
        self.summary = summary
        self.families = families
        self.ids = ids
        self.test = test

    def holds(self, r: Rule) -> bool:
        return r.family in self.families or r.id in self.ids or (self.test is not None and self.test(r))


# hadolint ids whose rule is off in hadolint's own defaults (severity "ignore" there).
HADOLINT_OFF_BY_DEFAULT = frozenset({"DL1001", "DL3057"})


def _hadolint_default(r: Rule) -> bool:
    """A rule with a hadolint id that hadolint runs by default."""
    codes = {a.upper() for a in r.aliases if _HADOLINT_CODE.match(a.upper())}
    return bool(codes - HADOLINT_OFF_BY_DEFAULT)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("recommended", "the default set: every rule that is on by default", test=lambda r: r.enabled),
        Preset(
            "security",
            "credentials, root, exposed services, untrusted sources",
            families=frozenset({"security"}),
            ids=frozenset({"DA801", "DA802", "DA806", "DA811", "DA902", "DA909", "DA910", "DA912"}),
        ),
        Preset(
            "ml",
            "CUDA, ML frameworks, GPUs and model weights",
            families=frozenset({"ml"}),
            ids=frozenset({"DA306", "DA807", "DA810", "DA812", "DA813", "DA903", "DA904", "DA905", "DA913"}),
        ),
        Preset(
            "reproducible",
            "every pinning rule: base images, OS and language packages, VCS refs",
            families=frozenset({"pinning"}),
            ids=frozenset({"DA901"}),
        ),
        Preset(
            "size",
            "image size: caches, build tools, bloated bases, bytes left in layers",
            families=frozenset({"cleanup"}),
            ids=frozenset(
                {"DA306", "DA308", "DA504", "DA527", "DA536", "DA601", "DA603", "DA803", "DA804", "DA805", "DA809",
                 "DA810"}  # fmt: skip
            ),
        ),
        Preset(
            "hadolint",
            "the rules with hadolint ids, at hadolint's defaults, and ShellCheck (for people switching)",
            ids=frozenset({SHELLCHECK_RULE}),
            test=_hadolint_default,
        ),
        Preset("all", "every rule (the same as ALL)", test=lambda r: True),
    )
}


def _normal(selector: str) -> str:
    return selector.strip().upper()


def is_prefix_of(selector: str, rule_id: str) -> bool:
    """``selector`` (upper case) is ``rule_id`` or an id prefix of it: same letters, leading digits."""
    wanted, have = _ID.match(selector), _ID.match(rule_id.upper())
    return bool(wanted and have and wanted.group(1) == have.group(1) and have.group(2).startswith(wanted.group(2)))


def matches(selector: str, rule_id: str, r: Rule | None = None, alias: str | None = None) -> bool:
    """Whether ``selector`` names the rule ``rule_id`` (``r``: its definition, None for ids that are not
    rules, like DA000).  With ``alias`` (a finding's: None untagged, "" the part no alias covers) it
    answers for one finding: a code naming another part of the rule does not match it."""
    code = _normal(selector)
    if code == ALL or is_prefix_of(code, rule_id):
        return True
    if alias and alias.upper() == code:
        return True  # "SC2086" on a ShellCheck finding, "DL3033" on the yum part of DA210
    if r is None:
        return False
    if code.lower() == r.name:
        return True
    preset = PRESETS.get(code.lower())
    if preset is not None:
        return preset.holds(r)
    if code in (a.upper() for a in r.aliases) or (_SHELLCHECK_CODE.match(code) and r.id == SHELLCHECK_RULE):
        return alias is None  # a tagged finding was matched above by its own alias, or by no alias
    return False


def names_part(selector: str, r: Rule) -> bool:
    """``selector`` names one part of ``r`` only: one of its several aliases (``DL3033`` of DA210) or a
    ShellCheck code of DA703.  Ignoring it silences that part's findings, not the whole rule."""
    code = _normal(selector)
    if _SHELLCHECK_CODE.match(code):
        return r.id == SHELLCHECK_RULE
    aliases = [a.upper() for a in r.aliases]
    return len(aliases) > 1 and code in aliases


def names_specifically(selector: str, r: Rule) -> bool:
    """``selector`` names ``r`` as such (id, name, alias, ShellCheck code or a preset holding it), not
    as one of a group (a prefix, ``ALL``): that is what turns an off-by-default rule on in ``select``."""
    code = _normal(selector)
    if code == r.id:
        return True
    if code == ALL or is_prefix_of(code, r.id):
        return False
    return matches(selector, r.id, r)


def unknown_selectors(rules: Sequence[Rule], selectors: Iterable[str]) -> list[str]:
    """The selectors that name no rule of ``rules``: a typo in ``--select`` must not turn the linter
    off ("All clear", exit 0), nor one in ``--ignore`` leave a rule on unnoticed.  ``ALL`` and the
    presets are always known, whichever rules they hold today."""
    return [s for s in selectors if not is_known(s, rules)]


def is_known(selector: str, rules: Sequence[Rule]) -> bool:
    code = _normal(selector)
    if code == ALL or code.lower() in PRESETS:
        return True
    return any(matches(selector, r.id, r) for r in rules)


def is_shellcheck_code(selector: str) -> bool:
    """A ShellCheck code (SC + four digits): one part of the rule that reports ShellCheck's findings."""
    return bool(_SHELLCHECK_CODE.match(_normal(selector)))


def is_hadolint_code(selector: str) -> bool:
    """A hadolint id (DL + four digits), whether or not a dockaudit rule maps it."""
    return bool(_HADOLINT_CODE.match(_normal(selector)))


def select_rules(
    rules: Sequence[Rule],
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    extend_select: Sequence[str] = (),
) -> list[Rule]:
    """``select`` replaces the default set (the ``recommended`` preset); ``extend_select`` adds to it;
    ``ignore`` removes (except codes naming a part of a rule).  An off-by-default rule runs under ``select`` only when a selector names it
    specifically (see ``names_specifically``); ``extend_select`` turns on whatever it matches."""
    chosen = []
    for r in rules:
        if select:
            named = any(matches(s, r.id, r) for s in select)
            on = named and (r.enabled or any(names_specifically(s, r) for s in select))
        else:
            on = r.enabled
        if any(matches(s, r.id, r) for s in extend_select):
            on = True
        if any(matches(s, r.id, r) and not names_part(s, r) for s in ignore):
            on = False  # (a part's code is left to the findings filter: see ``names_part``)
        if on:
            chosen.append(r)
    return chosen


def rule_named(rules: Sequence[Rule], key: str) -> Rule | None:
    """The one rule ``key`` names exactly (id, name or alias), for ``dockaudit rule KEY`` and hovers."""
    return next((r for r in rules if _names_one(key, r)), None)


def _names_one(key: str, r: Rule) -> bool:
    code = _normal(key)
    return code == r.id or code.lower() == r.name or code in (a.upper() for a in r.aliases)


def presets_of(r: Rule) -> list[str]:
    """The presets that hold ``r``, in ``PRESETS`` order, without ``all`` (which holds every rule)."""
    return [p.name for p in PRESETS.values() if p.name != "all" and p.holds(r)]
