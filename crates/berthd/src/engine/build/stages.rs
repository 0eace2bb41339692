//! Build stages: the Dockerfile split at each `FROM`, the `ARG`s before the first one, and
//! which stages the target needs (through `FROM <stage>` and `COPY --from=<stage>`); the
//! others are skipped.

use berth_api::ApiError;
use berth_dockerfile::{Dockerfile, Node};

use super::BuildOptions;

pub(crate) struct StagePlan {
    pub index: usize,
    pub name: Option<String>,
    pub from: Node,
    pub nodes: Vec<Node>,
}

pub(crate) struct Plan {
    pub meta_args: Vec<Node>,
    pub stages: Vec<StagePlan>,
    pub needed: Vec<bool>,
    /// The stage to stop at (`--target`); None: the last.
    pub target: Option<usize>,
    pub total_steps: usize,
}

impl Plan {
    pub fn new(df: &Dockerfile, opts: &BuildOptions) -> Result<Plan, ApiError> {
        let mut meta_args = Vec::new();
        let mut stages: Vec<StagePlan> = Vec::new();
        for node in &df.nodes {
            if node.keyword == "from" {
                let name = match berth_dockerfile::Instruction::from_node(node) {
                    Ok(berth_dockerfile::Instruction::From(f)) => f.name,
                    Ok(_) => None,
                    Err(e) => return Err(ApiError::invalid(e.to_string())),
                };
                stages.push(StagePlan {
                    index: stages.len(),
                    name,
                    from: node.clone(),
                    nodes: Vec::new(),
                });
                continue;
            }
            match stages.last_mut() {
                Some(s) => s.nodes.push(node.clone()),
                None if node.keyword == "arg" => meta_args.push(node.clone()),
                None => {
                    return Err(ApiError::invalid(format!(
                        "Dockerfile parse error line {}: {} before the first FROM: no build stage in current context",
                        node.line,
                        node.keyword.to_uppercase()
                    )))
                }
            }
        }
        if stages.is_empty() {
            return Err(ApiError::invalid(
                "Dockerfile has no instructions: the file must begin with FROM",
            ));
        }
        let target = match opts.target.as_deref().filter(|t| !t.is_empty()) {
            None => stages.len() - 1,
            Some(t) => stages
                .iter()
                .position(|s| s.name.as_deref() == Some(&t.to_ascii_lowercase()))
                .ok_or_else(|| {
                    ApiError::invalid(format!("failed to reach build target {t} in Dockerfile"))
                })?,
        };
        if !opts.labels.is_empty() {
            let pairs: Vec<String> = opts
                .labels
                .iter()
                .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
                .collect();
            let text = format!("LABEL {}", pairs.join(" "));
            let mut parsed = berth_dockerfile::parse(&text)
                .map_err(|e| ApiError::invalid(format!("invalid label: {e}")))?;
            if let Some(mut node) = parsed.nodes.pop() {
                let last_line = stages[target]
                    .nodes
                    .last()
                    .map(|n| n.end_line)
                    .unwrap_or(stages[target].from.end_line);
                node.line = last_line + 1;
                node.end_line = last_line + 1;
                stages[target].nodes.push(node);
            }
        }
        let mut needed = vec![false; stages.len()];
        mark(&stages, target, &mut needed);
        let total_steps = meta_args.len()
            + stages
                .iter()
                .filter(|s| needed[s.index])
                .map(|s| 1 + s.nodes.len())
                .sum::<usize>();
        Ok(Plan {
            meta_args,
            stages,
            needed,
            target: Some(target),
            total_steps,
        })
    }
}

/// A stage reference (`FROM x`, `--from=x`) → the index of an earlier stage.
pub(crate) fn stage_index(
    stages_names: &[Option<String>],
    before: usize,
    r: &str,
) -> Option<usize> {
    let lower = r.to_ascii_lowercase();
    if let Some(i) = stages_names[..before]
        .iter()
        .position(|n| n.as_deref() == Some(lower.as_str()))
    {
        return Some(i);
    }
    r.parse::<usize>().ok().filter(|i| *i < before)
}

fn mark(stages: &[StagePlan], i: usize, needed: &mut [bool]) {
    if needed[i] {
        return;
    }
    needed[i] = true;
    let names: Vec<Option<String>> = stages.iter().map(|s| s.name.clone()).collect();
    let mut refs = Vec::new();
    if let Ok(berth_dockerfile::Instruction::From(f)) =
        berth_dockerfile::Instruction::from_node(&stages[i].from)
    {
        refs.push(f.image);
    }
    for n in &stages[i].nodes {
        for f in &n.flags {
            if let Some(v) = f.strip_prefix("from=") {
                refs.push(v.trim_matches('"').to_string());
            }
        }
        if n.keyword == "run" {
            for f in &n.flags {
                if let Some(m) = f.strip_prefix("mount=") {
                    for part in m.split(',') {
                        if let Some(v) = part.strip_prefix("from=") {
                            refs.push(v.to_string());
                        }
                    }
                }
            }
        }
    }
    // FROM lines never name a stage by number; COPY --from may.
    for r in refs {
        if let Some(dep) = stage_index(&names, i, &r) {
            mark(stages, dep, needed);
        }
    }
}

/// A double-quoted word for the expander: `"`, `$` and `\` escaped.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str, target: Option<&str>) -> Plan {
        let df = berth_dockerfile::parse(text).unwrap();
        let opts = BuildOptions {
            target: target.map(str::to_string),
            ..Default::default()
        };
        Plan::new(&df, &opts).unwrap()
    }

    #[test]
    fn unused_stages_are_skipped() {
        let text = "ARG V=1\nFROM busybox AS base\nRUN a\nFROM busybox AS unused\nRUN b\nFROM base AS mid\nCOPY --from=0 /x /y\nFROM scratch\nCOPY --from=mid /y /z\n";
        let p = plan(text, None);
        assert_eq!(p.meta_args.len(), 1);
        assert_eq!(p.needed, [true, false, true, true]);
        assert_eq!(p.total_steps, 1 + 2 + 2 + 2);
        let p = plan(text, Some("unused"));
        assert_eq!(p.needed, [false, true, false, false]);
        assert_eq!(p.target, Some(1));
        let df = berth_dockerfile::parse(text).unwrap();
        let bad = BuildOptions {
            target: Some("nope".into()),
            ..Default::default()
        };
        assert!(Plan::new(&df, &bad).is_err());
    }

    #[test]
    fn labels_become_a_last_step() {
        let df = berth_dockerfile::parse("FROM busybox\nRUN x\n").unwrap();
        let mut opts = BuildOptions::default();
        opts.labels.insert("a".into(), "x \"$y\"".into());
        let p = Plan::new(&df, &opts).unwrap();
        let last = p.stages[0].nodes.last().unwrap();
        assert_eq!(last.keyword, "label");
        assert_eq!(last.line, 3);
        assert_eq!(p.total_steps, 3);
    }

    #[test]
    fn instructions_before_from() {
        let df = berth_dockerfile::parse("RUN x\nFROM busybox\n").unwrap();
        assert!(Plan::new(&df, &BuildOptions::default()).is_err());
    }
}
