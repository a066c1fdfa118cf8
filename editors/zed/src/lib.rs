//! Zed starts `dockaudit lsp` for Dockerfiles and Compose files.
//!
//! The executable is `lsp.dockaudit.binary.path` from Zed's settings, else `dockaudit` on the
//! worktree's PATH (a project virtual environment counts when Zed's shell has it active); the
//! server's settings (`lsp.dockaudit.settings`: select, extendSelect, ignore, config, unsafeFixes,
//! lintOnChange) go to it at start and again whenever they change.

use zed_extension_api::{self as zed, serde_json::Value, settings::LspSettings, LanguageServerId, Result, Worktree};

struct Dockaudit;

fn lsp_settings(id: &LanguageServerId, worktree: &Worktree) -> Option<LspSettings> {
    LspSettings::for_worktree(id.as_ref(), worktree).ok()
}

impl zed::Extension for Dockaudit {
    fn new() -> Self {
        Dockaudit
    }

    fn language_server_command(&mut self, id: &LanguageServerId, worktree: &Worktree) -> Result<zed::Command> {
        let binary = lsp_settings(id, worktree).and_then(|settings| settings.binary);
        let configured = binary.as_ref().and_then(|b| b.path.clone());
        let command = configured.or_else(|| worktree.which("dockaudit")).ok_or_else(|| {
            "dockaudit is not on PATH: pip install 'dockaudit-lint[lsp]', or set lsp.dockaudit.binary.path".to_string()
        })?;
        let args = binary.as_ref().and_then(|b| b.arguments.clone()).unwrap_or_else(|| vec!["lsp".to_string()]);
        let mut env = worktree.shell_env();
        if let Some(extra) = binary.and_then(|b| b.env) {
            env.extend(extra);
        }
        Ok(zed::Command { command, args, env })
    }

    fn language_server_initialization_options(
        &mut self,
        id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<Value>> {
        Ok(lsp_settings(id, worktree).and_then(|settings| settings.settings))
    }

    fn language_server_workspace_configuration(
        &mut self,
        id: &LanguageServerId,
        worktree: &Worktree,
    ) -> Result<Option<Value>> {
        Ok(lsp_settings(id, worktree).and_then(|settings| settings.settings))
    }
}

zed::register_extension!(Dockaudit);
