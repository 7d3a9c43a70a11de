//! Tests of the port's shared path with scripted backends.

use std::sync::Mutex;

use super::*;

#[derive(Serialize)]
struct Echo {
    word: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
struct EchoAnswer {
    word: String,
    letters: u32,
}

impl Question for Echo {
    type Answer = EchoAnswer;
    const KIND: &'static str = "test_echo";
    const TEMPLATE: &'static str = include_str!("test_echo.j2");
    fn simulate(&self, _ctx: &SimContext<'_>) -> EchoAnswer {
        EchoAnswer {
            word: self.word.clone(),
            letters: self.word.len() as u32,
        }
    }
}

pub(crate) fn test_archon(name: &str) -> Archon {
    serde_json::from_value(serde_json::json!({
        "id": format!("id-{name}"), "name": name, "rank": "Duke", "aegis_rank": "senior_director",
        "rank_level": 7, "branch": "administrative_senior", "role": "Senior Director - Tests",
        "goal": "test", "backstory": "b", "system_prompt": "Persona of the test.",
        "llm_config": {"provider": "openai", "model": "m1"}
    }))
    .unwrap()
}

/// Answers each exchange with the next scripted text and remembers what it saw.
struct Scripted {
    answers: Mutex<Vec<Result<String, String>>>,
    seen: Mutex<Vec<Exchange>>,
}

impl Backend for Scripted {
    fn name(&self) -> &'static str {
        "llm"
    }
    fn is_simulated(&self) -> bool {
        false
    }
    fn complete(&self, batch: Vec<Exchange>) -> Vec<Result<Completion, TransportFailure>> {
        let mut answers = self.answers.lock().unwrap();
        let out = batch
            .iter()
            .map(|_| match answers.remove(0) {
                Ok(text) => Ok(Completion {
                    text,
                    model: "m1".into(),
                    prompt_tokens: 10,
                    completion_tokens: 5,
                    usage_estimated: false,
                    latency_ms: 1,
                    source: AnswerSource::Live,
                }),
                Err(message) => Err(TransportFailure::new(message)),
            })
            .collect();
        self.seen.lock().unwrap().extend(batch);
        out
    }
}

fn scripted(answers: Vec<Result<&str, &str>>) -> Arc<Scripted> {
    Arc::new(Scripted {
        answers: Mutex::new(
            answers
                .into_iter()
                .map(|a| a.map(String::from).map_err(String::from))
                .collect(),
        ),
        seen: Mutex::new(Vec::new()),
    })
}

#[test]
fn simulated_answers_take_the_validation_path() {
    let a = test_archon("Gusion");
    let agents = Agents::simulated(Seed(1));
    let asks = [Ask {
        archon: &a,
        question: Echo { word: "abc".into() },
    }];
    let r = agents.ask_all(&asks);
    assert_eq!(
        r[0].as_ref().unwrap(),
        &EchoAnswer {
            word: "abc".into(),
            letters: 3
        }
    );
    let calls = agents.take_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].source, AnswerSource::Simulated);
    assert!(agents.take_calls().is_empty());
}

#[test]
fn invalid_answer_is_reasked_with_errors_then_accepted() {
    let a = test_archon("Gusion");
    let backend = scripted(vec![
        Ok(r#"{"word":"abc","letters":"three"}"#),
        Ok(r#"{"word":"abc","letters":3}"#),
    ]);
    let agents = Agents::new(backend.clone(), Seed(1));
    let r = agents.ask_all(&[Ask {
        archon: &a,
        question: Echo { word: "abc".into() },
    }]);
    assert!(r[0].is_ok());
    let seen = backend.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].attempt, 1);
    let last = &seen[1].messages.last().unwrap().content;
    assert!(last.contains("/letters"), "{last}");
    let calls = agents.take_calls();
    assert_eq!(
        calls.iter().map(|c| c.outcome.as_str()).collect::<Vec<_>>(),
        ["invalid", "ok"]
    );
    assert_eq!(calls[0].prompt_tokens, 10);
}

/// Lists its words; the answer has one length per word, matched by position.
#[derive(Serialize)]
struct Lengths {
    word: String,
    words: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
struct LengthsAnswer {
    #[schemars(extend("x-archon-listed" = true))]
    lengths: Vec<u32>,
}

impl Question for Lengths {
    type Answer = LengthsAnswer;
    const KIND: &'static str = "test_lengths";
    const TEMPLATE: &'static str = include_str!("test_echo.j2");
    fn simulate(&self, _ctx: &SimContext<'_>) -> LengthsAnswer {
        LengthsAnswer {
            lengths: self.words.iter().map(|w| w.len() as u32).collect(),
        }
    }
    fn listed_items(&self) -> Option<usize> {
        Some(self.words.len())
    }
}

#[test]
fn a_listed_answer_of_another_count_than_the_questions_items_is_reasked() {
    let a = test_archon("Gusion");
    // As SmolLM2 answered a table of two proposals: one entry, then three.
    let backend = scripted(vec![
        Ok(r#"{"lengths":[1]}"#),
        Ok(r#"{"lengths":[1,2,3]}"#),
        Ok(r#"{"lengths":[1,2]}"#),
    ]);
    let agents = Agents::new(backend.clone(), Seed(1));
    let question = |words: &[&str]| Lengths {
        word: "w".into(),
        words: words.iter().map(|w| w.to_string()).collect(),
    };
    let r = agents.ask_all(&[Ask {
        archon: &a,
        question: question(&["a", "bb"]),
    }]);
    assert_eq!(r[0].as_ref().unwrap().lengths, [1, 2]);
    let seen = backend.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    // The grammar a server builds from the schema asks for exactly two.
    let lengths = &seen[0].schema["properties"]["lengths"];
    assert_eq!(
        (lengths["minItems"].as_u64(), lengths["maxItems"].as_u64()),
        (Some(2), Some(2))
    );
    drop(seen);
    // Another question of the same type and another count has its own schema.
    let simulated = Agents::simulated(Seed(1));
    let r = simulated.ask_all(&[
        Ask {
            archon: &a,
            question: question(&["a", "bb", "ccc"]),
        },
        Ask {
            archon: &a,
            question: question(&["dddd"]),
        },
    ]);
    assert_eq!(r[0].as_ref().unwrap().lengths, [1, 2, 3]);
    assert_eq!(r[1].as_ref().unwrap().lengths, [4]);
}

#[test]
fn bounded_reasks_end_in_a_failure_not_a_crash() {
    let a = test_archon("Gusion");
    let backend = scripted(vec![Ok("garbage"), Ok("{}"), Ok("[1]")]);
    let agents = Agents::new(backend.clone(), Seed(1));
    let r = agents.ask_all(&[Ask {
        archon: &a,
        question: Echo { word: "x".into() },
    }]);
    let f = r[0].as_ref().unwrap_err();
    assert_eq!(f.attempts, 3);
    let seen = backend.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    // Each re-ask replaces the previous one: prompt, last answer, its errors.
    assert_eq!(
        seen.iter().map(|e| e.messages.len()).collect::<Vec<_>>(),
        [2, 4, 4]
    );
    assert_eq!(seen[2].messages[2].content, "{}");
    let c = agents.tally().counts();
    assert_eq!((c.asks(), c.invalid, c.reasks, c.failed), (1, 1, 2, 0));
    assert!(c.mostly_invalid());
    assert!(c.first_invalid_reasons[0].starts_with("Gusion: "), "{c:?}");
}

#[test]
fn transport_failure_is_not_reasked() {
    let a = test_archon("Gusion");
    let b = test_archon("Aim");
    let backend = scripted(vec![
        Err("HTTP 404: model not found"),
        Ok(r#"{"word":"y","letters":1}"#),
    ]);
    let agents = Agents::new(backend.clone(), Seed(1));
    let r = agents.ask_all(&[
        Ask {
            archon: &a,
            question: Echo { word: "x".into() },
        },
        Ask {
            archon: &b,
            question: Echo { word: "y".into() },
        },
    ]);
    assert!(r[0].as_ref().unwrap_err().reason.contains("404"));
    assert!(r[1].is_ok());
    assert_eq!(backend.seen.lock().unwrap().len(), 2);
    let c = agents.tally().counts();
    assert_eq!(
        (c.asks(), c.valid_first_try, c.failed, c.invalid),
        (2, 1, 1, 0)
    );
    assert_eq!(
        c.first_failure.as_deref(),
        Some("HTTP 404: model not found")
    );
    assert!(
        !c.mostly_invalid(),
        "a transport failure is not an invalid answer"
    );
}

#[test]
fn after_a_transport_failure_a_stopping_port_asks_no_more() {
    let a = test_archon("Gusion");
    let backend = scripted(vec![Err("cannot connect")]);
    let tally = Arc::new(AnswerTally::stopping_on_transport_failure());
    let agents = Agents::new(backend.clone(), Seed(1)).with_tally(tally.clone());
    let ask = || {
        [Ask {
            archon: &a,
            question: Echo { word: "x".into() },
        }]
    };
    assert!(agents.ask_all(&ask())[0].is_err());
    let r = agents.fork().ask_all(&ask());
    assert!(r[0]
        .as_ref()
        .unwrap_err()
        .reason
        .starts_with("not asked: cannot connect"));
    assert_eq!(
        backend.seen.lock().unwrap().len(),
        1,
        "the second round never reached the backend"
    );
    assert_eq!(tally.counts().failed, 2);
}

#[test]
fn prompt_carries_persona_question_and_schema() {
    let a = test_archon("Gusion");
    let backend = scripted(vec![Ok(r#"{"word":"abc","letters":3}"#)]);
    let agents = Agents::new(backend.clone(), Seed(1));
    agents.ask_all(&[Ask {
        archon: &a,
        question: Echo { word: "abc".into() },
    }]);
    let seen = backend.seen.lock().unwrap();
    let m = &seen[0].messages;
    assert!(m[0].content.starts_with("Persona of the test."));
    assert!(m[1].content.contains("\"abc\""));
    assert!(m[1].content.contains("\"letters\""));
}

#[test]
fn system_template_compiles() {
    check_template("system", SYSTEM_TEMPLATE).unwrap();
    check_template("bad", "{{ q.x ").unwrap_err();
}
