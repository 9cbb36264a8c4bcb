//! The WebSocket protocol as an AsyncAPI 3.0.0 document, generated from the
//! protocol's own types (served at `GET /api/asyncapi.json`): the client ops
//! from [`ClientOp`], the server frames from [`FrameType`] (each with its
//! schema in [`crate::protocol::frames`]), the error codes from
//! [`ErrorCode::ALL`] and the close codes from [`close::ALL`].

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::protocol::{close, ClientOp, ErrorCode, FrameKind, FrameType};

/// The endpoints a WebSocket opens on: key, address, the channel it
/// subscribes to at once, the path parameter.
const ENDPOINTS: [(&str, &str, &str, Option<&str>); 4] = [
    (
        "live_events",
        "/api/live/events/{id}/",
        "event:{id}",
        Some("the live event's id"),
    ),
    (
        "live_fights",
        "/api/live/fights/{id}/",
        "fight:{id}",
        Some("the live fight's id"),
    ),
    (
        "live_comments",
        "/api/live/comments/{id}/",
        "comments:{id}",
        Some("the live event's id"),
    ),
    (
        "live_notifications",
        "/api/live/notifications/",
        "user:{me} (needs a signed-in user)",
        None,
    ),
];

/// A channel a session subscribes to (`subscribe` op): key, address,
/// meaning, the path parameter, the frames that flow on it.
type Logical = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [FrameType],
);

const CHANNELS: [Logical; 8] = [
    (
        "event",
        "event:{id}",
        "A live event and everything on its card.",
        Some("the live event's id"),
        &[
            FrameType::Update,
            FrameType::EventState,
            FrameType::FightState,
            FrameType::Poll,
            FrameType::Viewers,
            FrameType::Reactions,
            FrameType::Presence,
            FrameType::Resync,
        ],
    ),
    (
        "fight",
        "fight:{id}",
        "One live fight.",
        Some("the live fight's id"),
        &[
            FrameType::Update,
            FrameType::FightState,
            FrameType::Reactions,
            FrameType::Presence,
            FrameType::Resync,
        ],
    ),
    (
        "comments",
        "comments:{id}",
        "A live event's comment stream.",
        Some("the live event's id"),
        &[
            FrameType::Comment,
            FrameType::CommentRemoved,
            FrameType::SlowMode,
            FrameType::Skipped,
            FrameType::Reactions,
            FrameType::Presence,
            FrameType::Resync,
        ],
    ),
    (
        "user",
        "user:{id}",
        "One user's notifications; only that user may follow it.",
        Some("the user's id"),
        &[
            FrameType::Notification,
            FrameType::Unread,
            FrameType::Resync,
        ],
    ),
    (
        "moderation",
        "moderation:{id}",
        "A live event's staff channel: updates awaiting approval and comments entering the moderation queue; moderators and admins only.",
        Some("the live event's id"),
        &[
            FrameType::UpdatePending,
            FrameType::UpdateReviewed,
            FrameType::Queue,
            FrameType::Resync,
        ],
    ),
    (
        "news",
        "news",
        "Breaking news from every event.",
        None,
        &[FrameType::Update, FrameType::Resync],
    ),
    (
        "rankings",
        "rankings",
        "Every ranking move.",
        None,
        &[FrameType::Ranking, FrameType::Resync],
    ),
    (
        "division",
        "rankings:{division}",
        "One division's ranking moves.",
        Some("the division's id"),
        &[FrameType::Ranking, FrameType::Resync],
    ),
];

fn settings(base: SchemaSettings) -> SchemaSettings {
    base.with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    })
}

fn op_key(op: &str) -> String {
    format!("op.{op}")
}

fn frame_key(frame: FrameType) -> String {
    format!("frame.{}", frame.as_str())
}

fn reference(to: &str) -> Value {
    json!({ "$ref": to })
}

fn parameters(parameter: Option<&str>, name: &str) -> Value {
    match parameter {
        Some(description) => json!({ name: { "description": description } }),
        None => json!({}),
    }
}

/// `ref` as every op may carry it and every reply echoes it.
fn ref_property() -> Value {
    json!({ "description": "Any JSON value; echoed on the answer (and on its error)." })
}

/// Adds a property to an object schema, or to the object schemas it is made of.
fn add_property(schema: &mut Value, name: &str, property: Value, required: bool) {
    if let Some(parts) = schema.get_mut("allOf").and_then(Value::as_array_mut) {
        if let Some(first) = parts.first_mut() {
            add_property(first, name, property, required);
        }
        return;
    }
    if let Some(object) = schema.as_object_mut() {
        object
            .entry("type")
            .or_insert_with(|| Value::from("object"));
        let properties = object.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.insert(name.to_string(), property);
        }
        if required {
            let list = object.entry("required").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.insert(0, Value::from(name));
            }
        }
    }
}

/// The client ops: `(op, summary, payload schema)`, one per [`ClientOp`]
/// variant, read from its schema (`oneOf`, one per variant, each with
/// `op` as a constant).
fn client_ops(generator: &mut SchemaGenerator) -> Vec<(String, String, Value)> {
    let schema = ClientOp::json_schema(generator).to_value();
    let variants = schema
        .get("oneOf")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    variants
        .into_iter()
        .filter_map(|mut variant| {
            let op = variant
                .pointer("/properties/op/const")
                .or_else(|| variant.pointer("/properties/op/enum/0"))
                .and_then(Value::as_str)?
                .to_string();
            let summary = variant
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .and_then(|d| d.as_str().map(str::to_string))
                .unwrap_or_default();
            add_property(&mut variant, "ref", ref_property(), false);
            Some((op, summary, variant))
        })
        .collect()
}

fn frame_payload(frame: FrameType, generator: &mut SchemaGenerator) -> Value {
    let mut payload = frame.schema(generator).to_value();
    if let Some(object) = payload.as_object_mut() {
        object.insert("description".into(), Value::from(frame.summary()));
        object.remove("title");
    }
    if frame == FrameType::Error {
        if let Some(code) = payload.pointer_mut("/properties/code") {
            *code = reference("#/components/schemas/ErrorCode");
        }
    }
    if frame.kind() == FrameKind::Reply {
        add_property(&mut payload, "ref", ref_property(), false);
    }
    add_property(
        &mut payload,
        "type",
        json!({ "type": "string", "const": frame.as_str() }),
        true,
    );
    payload
}

fn kind_name(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Session => "session",
        FrameKind::Reply => "reply",
        FrameKind::Durable => "durable",
        FrameKind::Ephemeral => "ephemeral",
        FrameKind::Notice => "notice",
    }
}

fn close_codes_table() -> String {
    let mut table = String::from("| close code | meaning |\n|---|---|\n");
    for (code, meaning) in close::ALL {
        table.push_str(&format!("| {code} | {meaning} |\n"));
    }
    table
}

/// The AsyncAPI 3.0.0 document of the WebSocket protocol.
pub fn document() -> Value {
    let mut reads = settings(SchemaSettings::draft07())
        .for_deserialize()
        .into_generator();
    let mut writes = settings(SchemaSettings::draft07())
        .for_serialize()
        .into_generator();

    let ops = client_ops(&mut reads);
    let mut messages = Map::new();
    for (op, summary, payload) in &ops {
        messages.insert(
            op_key(op),
            json!({
                "name": op, "title": format!("op {op}"), "summary": summary,
                "contentType": "application/json", "payload": payload,
                "tags": [{ "name": "client" }],
            }),
        );
    }
    for frame in FrameType::ALL {
        messages.insert(
            frame_key(frame),
            json!({
                "name": frame.as_str(), "title": format!("{} frame", frame.as_str()),
                "summary": frame.summary(), "contentType": "application/json",
                "payload": frame_payload(frame, &mut writes),
                "tags": [{ "name": "server" }, { "name": kind_name(frame.kind()) }],
            }),
        );
    }
    let all_messages: Map<String, Value> = messages
        .keys()
        .map(|k| (k.clone(), reference(&format!("#/components/messages/{k}"))))
        .collect();

    let mut channels = Map::new();
    let mut operations = Map::new();
    for (key, address, subscribes, parameter) in ENDPOINTS {
        channels.insert(
            key.into(),
            json!({
                "address": address,
                "title": format!("WebSocket {address}"),
                "description": format!(
                    "A WebSocket (`Upgrade: websocket`; the same path without it is the REST \
                     resource). The session is subscribed to `{subscribes}` at once and may \
                     follow more channels with `subscribe`. `?since=<epoch>:<seq>` resumes that \
                     first subscription, `?delta=true` asks it for delta frames (the `subscribe` op's `delta`). Auth: `?token=` or `Authorization: Bearer`; anonymous \
                     clients may watch public channels but not write."
                ),
                "parameters": parameters(parameter, "id"),
                "messages": all_messages,
                "bindings": { "ws": {
                    "method": "GET",
                    "query": {
                        "type": "object",
                        "properties": {
                            "token": { "type": "string", "description": "a bearer token" },
                            "since": { "type": "string", "description": "`<epoch>:<seq>`: resume the first subscription" },
                            "delta": { "type": "string", "enum": ["true", "false"], "description": "`true`: the first subscription asks for delta frames, as `delta` on `subscribe` does" },
                        },
                    },
                    "bindingVersion": "0.1.0",
                } },
            }),
        );
        for (op, summary, _) in &ops {
            operations.insert(
                format!("{key}.send.{op}"),
                json!({
                    "action": "send", "summary": summary,
                    "channel": reference(&format!("#/channels/{key}")),
                    "messages": [reference(&format!("#/channels/{key}/messages/{}", op_key(op)))],
                }),
            );
        }
        for frame in FrameType::ALL {
            operations.insert(
                format!("{key}.receive.{}", frame.as_str()),
                json!({
                    "action": "receive", "summary": frame.summary(),
                    "channel": reference(&format!("#/channels/{key}")),
                    "messages": [reference(&format!("#/channels/{key}/messages/{}", frame_key(frame)))],
                }),
            );
        }
    }
    for (key, address, description, parameter, frames) in CHANNELS {
        let on_it: Map<String, Value> = frames
            .iter()
            .map(|f| {
                let k = frame_key(*f);
                let r = reference(&format!("#/components/messages/{k}"));
                (k, r)
            })
            .collect();
        let name = address
            .split_once('{')
            .and_then(|(_, rest)| rest.strip_suffix('}'))
            .unwrap_or("id");
        channels.insert(
            key.into(),
            json!({
                "address": address,
                "title": format!("channel {address}"),
                "description": format!(
                    "{description} A logical channel, followed with the `subscribe` op over \
                     any of the WebSocket endpoints; its frames arrive on that socket."
                ),
                "parameters": parameters(parameter, name),
                "messages": on_it,
            }),
        );
    }

    let mut schemas = reads.take_definitions(true);
    schemas.extend(writes.take_definitions(true));
    let mut codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|(code, meaning)| json!({ "const": code.as_str(), "description": meaning }))
        .collect();
    codes.push(json!({
        "type": "string",
        "description": "A REST refusal passed through as is (e.g. `already_voted`, \
                        `poll_not_open`, `content_rejected`, `invalid_transition`).",
    }));
    schemas.insert(
        "ErrorCode".into(),
        json!({ "description": "The `code` of an `error` frame.", "anyOf": codes }),
    );
    schemas.insert(
        "CloseCode".into(),
        json!({
            "description": "The WebSocket close codes the server sends.",
            "oneOf": close::ALL.iter()
                .map(|(code, meaning)| json!({ "const": code, "description": meaning }))
                .collect::<Vec<_>>(),
        }),
    );

    json!({
        "asyncapi": "3.0.0",
        "id": "urn:ringside:live",
        "info": {
            "title": "Ringside live protocol",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "The WebSocket protocol of Ringside (DESIGN §3). Frames are JSON text. Any op \
                 may carry `ref`, echoed on its answer. Every durable message carries its \
                 channel's `seq`, rising by one; after a reconnect, subscribe with \
                 `since:{{epoch,seq}}` to get every missed message in order, or `resync`.\n\n\
                 Error codes: `components.schemas.ErrorCode`. Close codes:\n\n{}",
                close_codes_table()
            ),
            "license": { "name": "MIT" },
        },
        "defaultContentType": "application/json",
        "servers": {
            "ringside": {
                "host": "localhost:8000", "protocol": "ws",
                "description": "The server itself (`wss` behind TLS).",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": { "messages": messages, "schemas": schemas },
        "x-error-codes": ErrorCode::ALL.iter()
            .map(|(code, meaning)| json!({ "code": code.as_str(), "meaning": meaning }))
            .collect::<Vec<_>>(),
        "x-close-codes": close::ALL.iter()
            .map(|(code, meaning)| json!({ "code": code, "meaning": meaning }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_every_op_frame_error_and_close_code() {
        let doc = document();
        assert_eq!(doc["asyncapi"], "3.0.0");
        let messages = doc["components"]["messages"].as_object().expect("messages");
        for op in [
            "subscribe",
            "unsubscribe",
            "ping",
            "comment",
            "react",
            "vote",
        ] {
            let message = &messages[&op_key(op)];
            assert_eq!(message["payload"]["properties"]["op"]["const"], op);
            assert!(message["payload"]["properties"]["ref"].is_object());
            assert_eq!(
                doc["operations"][format!("live_events.send.{op}")]["action"],
                "send"
            );
        }
        assert_eq!(messages.len(), 6 + FrameType::ALL.len());
        for frame in FrameType::ALL {
            assert_eq!(FrameType::parse(frame.as_str()), Some(frame));
            let payload = &messages[&frame_key(frame)]["payload"];
            assert_eq!(payload["properties"]["type"]["const"], frame.as_str());
            for key in [
                "live_events",
                "live_fights",
                "live_comments",
                "live_notifications",
            ] {
                let operation = &doc["operations"][format!("{key}.receive.{}", frame.as_str())];
                assert_eq!(operation["action"], "receive");
            }
        }
        let codes = doc["components"]["schemas"]["ErrorCode"].to_string();
        for (code, _) in ErrorCode::ALL {
            assert!(
                codes.contains(&format!("\"{}\"", code.as_str())),
                "{code:?}"
            );
        }
        assert_eq!(
            doc["x-close-codes"].as_array().map(Vec::len),
            Some(close::ALL.len())
        );
        // Every reference points into the document.
        let text = doc.to_string();
        for target in text.split("\"$ref\":\"#").skip(1) {
            let pointer = &target[..target.find('"').expect("end")];
            assert!(doc.pointer(pointer).is_some(), "dangling {pointer}");
        }
    }

    /// The schemas describe the frames the builders make: each frame's keys
    /// are properties of its schema, and its required ones are there.
    #[test]
    fn the_schemas_match_the_frames_built() {
        assert!(FrameType::Poll.may_be_ephemeral() && FrameType::Viewers.may_be_ephemeral());
        assert!(!FrameType::Update.may_be_ephemeral());
        use crate::protocol as p;
        let channel = crate::Channel::Event(7);
        let reference = Some(json!(3));
        let frames = [
            p::welcome("s1", None, 30),
            p::subscribed(&channel, "k3x9", 17, &json!({}), &reference),
            p::unsubscribed(&channel, &reference),
            p::durable("update", &channel, 18, &json!({ "id": 1 })),
            p::durable("fight_state", &channel, 19, &json!({})),
            p::delta(
                FrameType::FightState,
                &channel,
                21,
                19,
                &json!({ "round": 2 }),
                &["/result".to_string()],
            ),
            p::durable("event_state", &channel, 22, &json!({ "id": 7 })),
            p::durable(
                "slow_mode",
                &crate::Channel::Comments(7),
                4,
                &json!({ "live_event": 7, "slow_mode_seconds": 30 }),
            ),
            p::ephemeral("viewers", &channel, &json!({ "count": 3 })),
            p::ephemeral("presence", &channel, &json!({ "count": 3 })),
            p::ephemeral("unread", &channel, &json!({ "unread": 1 })),
            p::ephemeral("poll", &channel, &json!({ "id": 1 })),
            p::durable("poll", &channel, 20, &json!({ "id": 1 })),
            p::broadcast(&json!({ "title": "t" })),
            p::resync(&channel, "history_gap"),
            p::pong(&reference),
            p::ack(&json!({ "id": 991 }), &reference),
            p::error(ErrorCode::NotFound, "no", &reference),
            p::rate_limited("slow down", 4200, &reference),
            p::skipped(&channel, 31, 40),
        ];
        let doc = document();
        for frame in frames {
            let v: Value = serde_json::from_str(&frame).expect("json");
            let kind = v["type"].as_str().expect("type");
            let payload = &doc["components"]["messages"][format!("frame.{kind}")]["payload"];
            let properties = payload["properties"].as_object().expect("properties");
            let object = v.as_object().expect("object");
            for key in object.keys() {
                assert!(properties.contains_key(key), "{kind}: {key} undocumented");
            }
            for key in payload["required"].as_array().expect("required") {
                assert!(
                    object.contains_key(key.as_str().expect("name")),
                    "{kind}: {key}"
                );
            }
        }
    }
}
