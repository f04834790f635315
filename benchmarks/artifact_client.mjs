// The official client's download, for benchmarks/artifact_download.py: @actions/artifact's
// downloadArtifact through its public-API path (findBy), as actions/download-artifact calls it
// for another run's artifacts. It reads the API base from GITHUB_API_URL (@actions/github), then
// follows the 302 to the storage host and unzips the stream (unzip-stream), hashing it on the
// way and comparing the sha256 with expectedHash.
//
//   node artifact_client.mjs <artifact-id> <run-id> <destination> <sha256:digest>
// with GITHUB_API_URL, GITHUB_SERVER_URL=https://github.com and BENCH_TOKEN set; prints one JSON
// line: {"seconds": ..., "digestMismatch": ...}.
import { DefaultArtifactClient } from "@actions/artifact";

const [artifactId, runId, destination, expectedHash] = process.argv.slice(2);
const client = new DefaultArtifactClient();
const started = process.hrtime.bigint();
const result = await client.downloadArtifact(Number(artifactId), {
  path: destination,
  expectedHash,
  findBy: {
    token: process.env.BENCH_TOKEN,
    workflowRunId: Number(runId),
    repositoryOwner: "octo",
    repositoryName: "app",
  },
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ seconds, digestMismatch: Boolean(result.digestMismatch) }));
