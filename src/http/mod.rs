//! HTTP/1.1 as pure functions over bytes: request heads, body framing, responses.

pub mod body;
pub mod body_error;
pub mod chunked;
pub mod head;
pub mod pair_spans;
pub mod response;

pub use body::{ReadBuffer, RequestBody, Transport};
pub use body_error::BodyError;
pub use head::{BodyFraming, HeadError, HeadParse, Method, RequestHead};
pub use response::{BodyStream, LocalFuture, Persistence, Response, ResponseBody, ResponseHead};
