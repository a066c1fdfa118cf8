"""``dockaudit lsp``: a language server (stdio) for Dockerfiles and Compose files.

``linting`` lints one open document as the CLI would lint the file (no pygls needed); ``protocol``
turns findings into LSP diagnostics, code actions and hovers; ``server`` is the pygls wiring
(debounce, stale-lint cancellation, bounded framing).  Only ``dockaudit lsp`` imports this package,
so pygls and lsprotocol stay an optional extra (``dockaudit[lsp]``).
"""
