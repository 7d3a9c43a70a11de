//! Prompt rendering. Templates are files (`data/prompts/system.j2`, and each
//! question's own template, named by [`Question::TEMPLATE`]), compiled into the
//! binary and rendered with minijinja in strict mode, so a template that names a
//! missing variable fails loudly instead of sending a hollow prompt.

use std::sync::{OnceLock, RwLock};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use super::{Message, Role};
use crate::roster::Archon;

/// The persona framing shared by every question.
pub const SYSTEM_TEMPLATE: &str = include_str!("../../../../data/prompts/system.j2");

/// Compiled templates, by question kind; a question's template is added on first use.
fn environment() -> &'static RwLock<Environment<'static>> {
    static ENV: OnceLock<RwLock<Environment<'static>>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        // A syntax error here fails every LLM test, and `check_template` tests it directly.
        let _ = env.add_template("system", SYSTEM_TEMPLATE);
        RwLock::new(env)
    })
}

/// Compiles a template, returning minijinja's error (for tests of each question's template).
pub fn check_template(name: &str, text: &str) -> Result<(), String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template(name, text).map_err(|e| format!("{e:#}"))
}

/// The conversation for one question: the archon's persona as the system
/// message and the question's template as the user message.
pub fn render_prompt(
    kind: &'static str,
    template: &'static str,
    archon: &Archon,
    question: &impl Serialize,
    answer_schema: &serde_json::Value,
) -> Result<Vec<Message>, String> {
    let known = environment()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get_template(kind)
        .is_ok();
    if !known {
        environment()
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .add_template(kind, template)
            .map_err(|e| format!("prompt template {kind}: {e:#}"))?;
    }
    let env = environment().read().unwrap_or_else(|e| e.into_inner());
    let schema = serde_json::to_string(answer_schema).map_err(|e| e.to_string())?;
    let ctx = minijinja::context! { archon => archon, q => question, answer_schema => schema };
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| format!("prompt template {name}: {e:#}"))
    };
    Ok(vec![
        Message {
            role: Role::System,
            content: render("system")?,
        },
        Message {
            role: Role::User,
            content: render(kind)?,
        },
    ])
}
