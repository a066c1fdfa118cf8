"""dockaudit's built-in rule pack, loaded through the same interface as third-party packs.

One module per family; ``RULES`` lists them all in id order.
"""

from dockaudit_rules import (
    bases,
    cleanup,
    compose,
    gpu_fleet,
    image,
    layers,
    ml,
    pinning,
    security,
    shell_hygiene,
    syntax,
)

from dockaudit.plugin import rules_in

RULES = sorted(
    (
        r
        for family in (syntax, security, pinning, layers, cleanup, ml, gpu_fleet, bases, shell_hygiene, image, compose)
        for r in rules_in(family)
    ),
    key=lambda r: r.id,
)
