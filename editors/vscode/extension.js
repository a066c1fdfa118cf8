// Starts `dockaudit lsp` (stdio) for Dockerfiles and Compose files; diagnostics, code actions, hovers and
// "Show docs" (window/showDocument, which the client opens in the browser) all come from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

// The settings the server reads (dockaudit/lsp/settings.py); `dockaudit.path` is this extension's own.
const SERVER_SETTINGS = ["select", "extendSelect", "ignore", "config", "unsafeFixes", "lintOnChange"];

let client;

function serverSettings() {
  const configuration = vscode.workspace.getConfiguration("dockaudit");
  return Object.fromEntries(SERVER_SETTINGS.map((key) => [key, configuration.get(key)]));
}

function activate(context) {
  const command = vscode.workspace.getConfiguration("dockaudit").get("path") || "dockaudit";
  const server = { command, args: ["lsp"] };
  // The files whose changes the server must read again (it keeps configuration and build-context
  // reads between edits): sent as workspace/didChangeWatchedFiles.
  const watcher = vscode.workspace.createFileSystemWatcher(
    "**/{.dockaudit.toml,pyproject.toml,.hadolint.yaml,.hadolint.yml,.dockerignore,*.dockerignore,*requirements*.txt,environment*.yml}",
  );
  context.subscriptions.push(watcher);
  client = new LanguageClient("dockaudit", "dockaudit", server, {
    documentSelector: [
      { scheme: "file", language: "dockerfile" },
      { scheme: "untitled", language: "dockerfile" },
      { scheme: "file", language: "dockercompose" },
    ],
    initializationOptions: serverSettings(),
    synchronize: { fileEvents: watcher },
  });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("dockaudit") && client.isRunning()) {
        client.sendNotification("workspace/didChangeConfiguration", { settings: serverSettings() });
      }
    }),
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
