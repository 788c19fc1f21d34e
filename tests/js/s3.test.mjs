// AWS SDK for JavaScript v3 (default settings: CRC32 checksums, aws-chunked trailers for streams)
// against the ringstore at RINGSTORE_ENDPOINT: put/get/list/delete, an Upload of a stream, and
// virtual-hosted-style addressing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command,
  DeleteObjectCommand, HeadObjectCommand,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import http from "node:http";

const md5 = (bytes) => createHash("md5").update(bytes).digest("hex");

function client(forcePathStyle = true) {
  return new S3Client({
    endpoint: process.env.RINGSTORE_ENDPOINT,
    region: "us-east-1",
    forcePathStyle,
    credentials: { accessKeyId: process.env.RINGSTORE_ACCESS_KEY, secretAccessKey: process.env.RINGSTORE_SECRET_KEY },
  });
}

test("put, get, list, delete", async () => {
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: "js-basic" }));
  const body = randomBytes(300_000);
  await s3.send(new PutObjectCommand({ Bucket: "js-basic", Key: "dir/a b+c.bin", Body: body, ContentType: "application/x-js" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-basic", Key: "dir/a b+c.bin", ChecksumMode: "ENABLED" }));
  const bytes = Buffer.from(await got.Body.transformToByteArray());
  assert.equal(md5(bytes), md5(body));
  assert.equal(got.ContentType, "application/x-js");
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "js-basic", Prefix: "dir/" }));
  assert.deepEqual(listed.Contents.map((o) => o.Key), ["dir/a b+c.bin"]);
  await s3.send(new DeleteObjectCommand({ Bucket: "js-basic", Key: "dir/a b+c.bin" }));
  await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: "js-basic", Key: "dir/a b+c.bin" })), (error) => error.$metadata.httpStatusCode === 404);
});

test("Upload of a stream (multipart, aws-chunked)", async () => {
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: "js-upload" }));
  const body = randomBytes(12 * 1024 * 1024 + 17);
  const chunks = [];
  for (let offset = 0; offset < body.length; offset += 1024 * 1024) chunks.push(body.subarray(offset, offset + 1024 * 1024));
  const upload = new Upload({ client: s3, params: { Bucket: "js-upload", Key: "stream.bin", Body: Readable.from(chunks) }, partSize: 5 * 1024 * 1024, queueSize: 3 });
  await upload.done();
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-upload", Key: "stream.bin" }));
  assert.equal(md5(Buffer.from(await got.Body.transformToByteArray())), md5(body));
  const small = new Upload({ client: s3, params: { Bucket: "js-upload", Key: "small.bin", Body: Readable.from([body.subarray(0, 1000)]) } });
  await small.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket: "js-upload", Key: "small.bin" }));
  assert.equal(head.ContentLength, 1000);
});

test("virtual-hosted style (bucket.localhost)", async () => {
  // bucket.localhost may not resolve on this machine: the agent's lookup sends it to 127.0.0.1,
  // while the SDK still addresses the bucket in the Host header.
  const lookup = (hostname, options, callback) => {
    const address = hostname.endsWith(".localhost") || hostname === "localhost" ? "127.0.0.1" : hostname;
    if (options && options.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  };
  const port = new URL(process.env.RINGSTORE_ENDPOINT).port;
  const hosts = [];
  const s3 = new S3Client({
    endpoint: `http://localhost:${port}`,
    region: "us-east-1",
    forcePathStyle: false,
    credentials: { accessKeyId: process.env.RINGSTORE_ACCESS_KEY, secretAccessKey: process.env.RINGSTORE_SECRET_KEY },
    requestHandler: new NodeHttpHandler({ httpAgent: new http.Agent({ keepAlive: true, lookup }) }),
  });
  s3.middlewareStack.add((next) => async (args) => {
    hosts.push(args.request.hostname);
    return next(args);
  }, { step: "finalizeRequest", name: "recordHost" });
  await client().send(new CreateBucketCommand({ Bucket: "js-virtual" }));
  const body = randomBytes(100_000);
  await s3.send(new PutObjectCommand({ Bucket: "js-virtual", Key: "v/obj.bin", Body: body }));
  const got = await s3.send(new GetObjectCommand({ Bucket: "js-virtual", Key: "v/obj.bin" }));
  assert.equal(md5(Buffer.from(await got.Body.transformToByteArray())), md5(body));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: "js-virtual" }));
  assert.deepEqual(listed.Contents.map((o) => o.Key), ["v/obj.bin"]);
  assert.ok(hosts.length >= 3 && hosts.every((host) => host === "js-virtual.localhost"), hosts.join(","));
});
