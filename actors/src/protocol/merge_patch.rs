//! JSON Merge Patch (RFC 7386): the patch that turns one state into the
//! next, and applying one. Delta frames (`base` and `patch` instead of
//! `data`) carry these; the TypeScript client applies them the same way.
//!
//! A merge patch cannot set a member to `null` (null means "remove"), and
//! the states do that often (a transition's `reason`, a clock's
//! `pause_reason`). So a delta carries, beside its patch, the members that
//! become null as JSON Pointers (RFC 6901), set to null once the patch is
//! applied ([`set_nulls`]). [`between`] checks its own work: when patch and
//! nulls would not give back the target exactly it gives nothing, and the
//! caller sends the full frame.

use serde_json::{Map, Value};

/// The patch from `source` to `target`, and the pointers of the members to
/// set to null after it; `None` if they would not give `target` exactly.
pub fn between(source: &Value, target: &Value) -> Option<(Value, Vec<String>)> {
    let patch = diff(source, target);
    let mut check = source.clone();
    apply(&mut check, &patch);
    let mut nulls = Vec::new();
    lost_nulls(target, &check, "", &mut nulls);
    set_nulls(&mut check, &nulls);
    (check == *target).then_some((patch, nulls))
}

/// The null members of `target` that `got` lacks, as pointers.
fn lost_nulls(target: &Value, got: &Value, at: &str, out: &mut Vec<String>) {
    let Value::Object(members) = target else {
        return;
    };
    for (key, value) in members {
        let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
        match (value, got.get(key)) {
            (Value::Null, Some(Value::Null)) => {}
            (Value::Null, _) => out.push(here),
            (Value::Object(_), Some(inner)) => lost_nulls(value, inner, &here, out),
            _ => {}
        }
    }
}

/// Sets the members at `pointers` (RFC 6901, into objects) to null; a
/// pointer whose parent is not an object is skipped.
pub fn set_nulls(target: &mut Value, pointers: &[String]) {
    for pointer in pointers {
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            continue;
        };
        let key = last.replace("~1", "/").replace("~0", "~");
        if let Some(Value::Object(object)) = target.pointer_mut(parent) {
            object.insert(key, Value::Null);
        }
    }
}

/// RFC 7386's patch from `source` to `target`: objects member by member,
/// anything else (arrays included) replaced whole; members that become
/// null are left to the nulls.
fn diff(source: &Value, target: &Value) -> Value {
    let (Value::Object(from), Value::Object(to)) = (source, target) else {
        return target.clone();
    };
    let mut patch = Map::new();
    for key in from.keys() {
        if !to.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    for (key, value) in to {
        match from.get(key) {
            Some(old) if old == value => {}
            // Said by the nulls beside the patch (see the module header).
            _ if value.is_null() => {}
            Some(old @ Value::Object(_)) if value.is_object() => {
                patch.insert(key.clone(), diff(old, value));
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(patch)
}

/// Applies a merge patch in place (RFC 7386 §2).
pub fn apply(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(object) = target {
        for (key, value) in members {
            if value.is_null() {
                object.remove(key);
            } else {
                apply(object.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_examples_apply() {
        // RFC 7386 appendix A, a selection.
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, result) in cases {
            apply(&mut target, &patch);
            assert_eq!(target, result, "patch {patch}");
        }
    }

    #[test]
    fn a_patch_between_two_states_gives_the_second_and_only_what_changed() {
        let before = json!({
            "id": 7, "status": "in_progress", "round": 1,
            "clock": {"elapsed_s": 10, "running": true},
            "stats": [{"round": 1, "red": {"strikes_landed": 3}}],
            "gone": "x",
        });
        let after = json!({
            "id": 7, "status": "in_progress", "round": 1,
            "clock": {"elapsed_s": 42, "running": true},
            "stats": [{"round": 1, "red": {"strikes_landed": 4}}],
        });
        let (patch, nulls) = between(&before, &after).expect("representable");
        assert!(nulls.is_empty());
        assert_eq!(
            patch,
            json!({
                "gone": null,
                "clock": {"elapsed_s": 42},
                "stats": [{"round": 1, "red": {"strikes_landed": 4}}],
            })
        );
        let mut applied = before.clone();
        apply(&mut applied, &patch);
        assert_eq!(applied, after);
        assert_eq!(between(&after, &after), Some((json!({}), vec![])));
    }

    #[test]
    fn members_that_become_null_are_named_beside_the_patch() {
        // `null` in a patch removes the member: the target's null is said apart.
        let before = json!({"result": {"method": "ko"}, "round": 3, "t": {"reason": "x"}});
        let after = json!({"result": null, "round": 3, "t": {"reason": null, "a/b": {"c~": null}}});
        let (patch, nulls) = between(&before, &after).expect("exact");
        assert_eq!(nulls, vec!["/result", "/t/a~1b/c~0", "/t/reason"]);
        let mut applied = before.clone();
        apply(&mut applied, &patch);
        set_nulls(&mut applied, &nulls);
        assert_eq!(applied, after);
        // A null that was there already is no change, and needs nothing.
        let later = json!({"result": null, "round": 4, "t": {"reason": null, "a/b": {"c~": null}}});
        assert_eq!(between(&after, &later), Some((json!({"round": 4}), vec![])));
    }
}
