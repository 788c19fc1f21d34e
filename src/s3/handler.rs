//! The shape of one S3 operation, a typed unit: `FromRequest` parses its input from the request's
//! head and query, `S3Operation::handle` runs it on a `Call`, and its output renders itself
//! (`IntoResponse`) in `run`, the one place a typed answer becomes HTTP.

use super::error::S3Result;
use super::payload::PayloadReader;
use super::request::{Call, S3Request};
use super::xml::XmlDocument;
use super::S3Context;
use crate::http::Response;

/// One S3 operation as a typed unit: `Input::parse` turns the request's head and query into its
/// input (refusing bad values there, before anything happens), `handle` runs it on what a handler
/// may know of the call (`Call`: never the raw head or query) and the verified payload, and its
/// `Output` renders itself (`IntoResponse`) in `run`, the one place a typed answer becomes HTTP.
pub trait S3Operation {
    /// What the operation reads from the request's head and query, validated (it may borrow from
    /// the request, so the hot paths copy nothing); a body, if any, stays in the payload for
    /// `handle`.
    type Input<'r>: FromRequest<'r>;
    /// What it answers.
    type Output: IntoResponse;

    /// Runs the operation.
    // Futures of a glommio core never cross threads, so the trait's async fn need not be Send.
    #[allow(async_fn_in_trait)]
    async fn handle(
        context: &S3Context,
        call: Call<'_>,
        input: Self::Input<'_>,
        payload: PayloadReader<'_, '_>,
    ) -> S3Result<Self::Output>;
}

/// An operation's input, parsed from the request's head and query.
pub trait FromRequest<'r>: Sized {
    /// The input, or S3's error for a missing, duplicate or bad value.
    fn parse(request: &'r S3Request<'_>) -> S3Result<Self>;
}

/// Operations that read nothing but their bucket and key.
impl FromRequest<'_> for () {
    fn parse(_request: &S3Request<'_>) -> S3Result<()> {
        Ok(())
    }
}

/// An operation's answer as HTTP.
pub trait IntoResponse {
    /// The status, headers and body.
    fn into_response(self) -> Response;
}

/// Every S3 document answers 200 with its XML.
impl<T: XmlDocument> IntoResponse for T {
    fn into_response(self) -> Response {
        Response::xml(self.render())
    }
}

/// An answer with headers S3 adds to it (`x-amz-version-id`, …); a header whose value is `None`
/// is left out.
pub struct WithHeaders<T> {
    /// The answer.
    pub answer: T,
    /// Headers to add.
    pub headers: Vec<(&'static str, Option<String>)>,
}

impl<T: IntoResponse> IntoResponse for WithHeaders<T> {
    fn into_response(self) -> Response {
        let mut response = self.answer.into_response();
        for (name, value) in self.headers {
            if let Some(value) = value {
                response.head.header(name, value);
            }
        }
        response
    }
}

/// An answer with no body: 204 No Content.
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        Response::empty(204)
    }
}

/// An empty 200: the change is made.
pub struct Done;

impl IntoResponse for Done {
    fn into_response(self) -> Response {
        Response::empty(200)
    }
}

/// Parse, handle, render: the only path a typed operation takes.
pub(crate) async fn run<O: S3Operation>(
    context: &S3Context,
    request: &S3Request<'_>,
    payload: PayloadReader<'_, '_>,
) -> S3Result<Response> {
    let input = O::Input::parse(request)?;
    let output = O::handle(context, request.call(), input, payload).await?;
    Ok(output.into_response())
}
