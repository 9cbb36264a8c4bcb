//! The live core's WebSocket write ops, served by the same functions as
//! the REST endpoints.

use std::sync::Arc;

use actix_web::web;
use ringside_actors::outbox::SessionId;
use ringside_actors::writes::{ClientWrites, WriteFuture, WriteOp};
use serde_json::Value;

use super::{comments, polls, reactions};
use crate::auth::TokenUser;
use crate::error::ApiError;
use crate::state::AppState;

pub struct Writes(pub web::Data<AppState>);

impl Writes {
    pub fn shared(state: &web::Data<AppState>) -> Arc<dyn ClientWrites> {
        Arc::new(Writes(state.clone()))
    }
}

impl ClientWrites for Writes {
    fn perform(&self, user: i64, session: SessionId, op: WriteOp) -> WriteFuture {
        let state = self.0.clone();
        let session = Some(format!("{session:x}"));
        Box::pin(async move {
            let done: Result<Value, ApiError> = match op {
                WriteOp::Comment {
                    live_event,
                    live_fight,
                    content,
                    parent_comment,
                } => comments::post(
                    &state,
                    TokenUser::session(user),
                    session,
                    comments::NewComment {
                        live_event_id: live_event,
                        live_fight_id: live_fight,
                        content,
                        parent_comment_id: parent_comment,
                    },
                )
                .await
                .and_then(|view| {
                    serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))
                }),
                WriteOp::React {
                    target_type,
                    target_id,
                    reaction_type,
                } => {
                    reactions::react(
                        &state,
                        TokenUser::session(user),
                        session,
                        reactions::NewReaction {
                            target_type,
                            target_id,
                            reaction_type,
                        },
                    )
                    .await
                }
                WriteOp::Vote { poll, option } => {
                    polls::vote(
                        &state,
                        TokenUser::session(user),
                        session,
                        poll,
                        polls::Ballot { option },
                    )
                    .await
                }
            };
            done.map_err(|e| e.refusal())
        })
    }
}
