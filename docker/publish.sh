#!/usr/bin/env bash
# The Dockerfile's build step, and the tests run it too (tests/Diced.Tests/Processes/DockerImageTests.cs), so the
# image's contents cannot rot unseen on machines without a Docker engine.
set -euo pipefail
out=${1:?usage: docker/publish.sh OUTPUT_DIR}
cd "$(dirname "$0")/.."
dotnet publish src/Diced.Server/Diced.Server.csproj -c Release -o "$out" --nologo
