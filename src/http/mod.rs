//! HTTP/1.1 as pure functions over bytes: request heads, body framing, responses.

pub mod body;
pub mod chunked;
pub mod head;
pub mod response;

pub use body::{BodyError, ReadBuffer, RequestBody, Transport};
pub use head::{BodyFraming, HeadError, HeadParse, Method, RequestHead};
pub use response::{BodyStream, LocalFuture, Response, ResponseBody, ResponseHead};
