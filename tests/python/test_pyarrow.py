"""pyarrow's S3FileSystem (the C++ AWS SDK underneath) writes and reads a Parquet file and lists a
prefix on ringstore."""
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from conftest import ACCESS_KEY, SECRET_KEY


def test_parquet_round_trip_and_listing(server):
    # Goal: write a Parquet dataset through S3FileSystem, read it back equal, list the prefix.
    s3 = server.client()
    s3.create_bucket(Bucket="py-arrow")
    host = server.endpoint.split("://", 1)[1]
    filesystem = fs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, endpoint_override=host,
                                 scheme="http", region="us-east-1", allow_bucket_creation=False)
    table = pa.table({"id": list(range(50_000)), "name": [f"row-{i}" for i in range(50_000)]})
    pq.write_table(table, "py-arrow/data/part-0.parquet", filesystem=filesystem)
    pq.write_table(table.slice(0, 10), "py-arrow/data/part-1.parquet", filesystem=filesystem)
    back = pq.read_table("py-arrow/data/part-0.parquet", filesystem=filesystem)
    assert back.equals(table)
    infos = filesystem.get_file_info(fs.FileSelector("py-arrow/data/"))
    assert sorted(info.path for info in infos) == ["py-arrow/data/part-0.parquet", "py-arrow/data/part-1.parquet"]
    assert all(info.size > 0 for info in infos)
    dataset = pq.read_table("py-arrow/data/", filesystem=filesystem)
    assert dataset.num_rows == 50_010
