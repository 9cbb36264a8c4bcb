//! The live core's WebSocket write ops, served by the same functions as
//! the REST endpoints.

use std::sync::Arc;

use actix_web::web;
use ringside_actors::outbox::SessionId;
use ringside_actors::writes::{Ballot, ClientWrites, VoteInput, WriteFuture, WriteOp};
use serde_json::Value;

use crate::auth::TokenUser;
use crate::error::ApiError;
use crate::features::{comments, polls, reactions};
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
            let caller = TokenUser::session(user);
            let done: Result<Value, ApiError> = match op {
                WriteOp::Comment(input) => comments::post(&state, caller, session, input)
                    .await
                    .and_then(|view| {
                        serde_json::to_value(view).map_err(|e| ApiError::Internal(e.to_string()))
                    }),
                WriteOp::React(input) => reactions::react(&state, caller, session, input).await,
                WriteOp::Vote(VoteInput { poll, option }) => {
                    polls::vote(&state, caller, session, poll, Ballot { option }).await
                }
            };
            done.map_err(|e| e.refusal())
        })
    }
}
