// Starts `dockaudit lsp` (stdio) for Dockerfiles and Compose files; diagnostics, code actions, hovers and
// "Show docs" (window/showDocument, which the client opens in the browser) all come from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("dockaudit").get("path") || "dockaudit";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient("dockaudit", "dockaudit", server, {
    documentSelector: [
      { scheme: "file", language: "dockerfile" },
      { scheme: "untitled", language: "dockerfile" },
      { scheme: "file", language: "dockercompose" },
    ],
  });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
