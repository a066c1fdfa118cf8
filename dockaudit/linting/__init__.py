"""Findings from trees: rule discovery and the one runner, selectors (one grammar for flags, config and
comments), inline suppressions, the findings filter, baselines, the fix loop and the catalogue.

(Not ``lint/``: ``dockaudit.lint`` is the public function of the package's API.)"""
