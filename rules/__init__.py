"""dockaudit's built-in rule pack, loaded through the same interface as third-party packs.

One module per family; ``RULES`` lists them all in id order.
"""

from dockaudit_rules import syntax

from dockaudit.plugin import rules_in

RULES = sorted(rules_in(syntax), key=lambda r: r.id)
