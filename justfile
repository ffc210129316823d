# The command surface of the project. Every command line lives here, once: the workflows, `.ci/run`,
# the docs and the tests call these recipes. Recipes go through `uv run`, which creates or updates the
# environment from uv.lock on first use, so a fresh clone needs nothing but uv and just.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Let Python cache compiled bytecode even where the environment turns it off (some CI images and
# sandboxes set PYTHONDONTWRITEBYTECODE=1): without the cache every recipe spends ~3 s re-compiling
# pandas, scikit-learn and friends on import.
export PYTHONDONTWRITEBYTECODE := ""

# Recipes come in groups, so `just --list` reads as sections (develop, check, model, serve, deploy,
# template, bench). The helpers only the workflows call are private: not listed, callable by name.

# List the recipes, by group.
[private]
default:
    @just --list --unsorted

# The template's own recipes (its self-test); absent from a project generated from it.
import? '.copier/template.just'

# Create or update the virtual environment with every dependency group.
[group('develop')]
install:
    uv sync --all-groups --all-extras

# Fix formatting and import order in place (every Python file git does not ignore).
[group('develop')]
format:
    uv run ruff check --select I --fix
    uv run ruff format

# Install the git pre-commit hook: the fast checks (check-code, check-format) on the files you commit.
[group('develop')]
hooks:
    uv run pre-commit install --overwrite

# Remove caches and build outputs (keeps data/ and the model registry in artifacts/).
[group('develop')]
clean:
    rm -rf dist build site .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov
    find src tests scripts -name __pycache__ -type d -prune -exec rm -rf {} +

# Build the documentation site strictly (a warning fails) into site/.
[group('develop')]
doc:
    uv run mkdocs build --strict

# Run every check at once: those that only read files and the tests (the Check workflow runs them one by one).
[group('check')]
[parallel]
check: check-static check-coverage

# >>> kubernetes
# Run the checks that only read files (lint, types, format, security, workflows, Dockerfile, manifests) at once, a process each.
[group('check')]
[parallel]
check-static: check-code check-type check-format check-security check-workflows check-docker check-manifests
# <<< kubernetes
# >>> serving
# >>> not kubernetes
# # Run the checks that only read files (lint, types, format, security, workflows, Dockerfile) at once, a process each.
# [group('check')]
# [parallel]
# check-static: check-code check-type check-format check-security check-workflows check-docker
# <<< not kubernetes
# <<< serving
# >>> not serving
# # Run the checks that only read files (lint, types, format, security, workflows) at once, a process each.
# [group('check')]
# [parallel]
# check-static: check-code check-type check-format check-security check-workflows
# <<< not serving

# Lint with ruff (reports, never fixes): every Python file git does not ignore, or only FILES (the git hook passes the staged ones).
[group('check')]
[positional-arguments]
check-code *files:
    uv run ruff check --no-fix "$@"

# Type-check src/, tests/ and scripts/ with mypy in strict mode.
[group('check')]
check-type:
    uv run mypy

# Verify formatting with ruff format (reports, never fixes): every Python file, or only FILES.
[group('check')]
[positional-arguments]
check-format *files:
    uv run ruff format --check "$@"

# Scan src/ for security issues with bandit (configured in pyproject.toml).
[group('check')]
check-security:
    uv run bandit -c pyproject.toml -r src --quiet

# Run the test suite on every core with line coverage; fails under the bar set in pyproject.toml.
# Whole files go to the workers in the collection's order, which lists the slowest files first.
[group('check')]
check-coverage:
    uv run pytest --numprocesses auto --dist loadfile --no-loadscope-reorder --cov --cov-report=term-missing:skip-covered

# Lint the GitHub workflows with actionlint and audit them with zizmor (offline, pedantic persona).
[group('check')]
check-workflows:
    uv run actionlint .github/workflows/*.yml
    uv run zizmor --offline --persona pedantic .github/

# >>> serving
# Lint the Dockerfile with hadolint: any finding fails.
[group('check')]
check-docker:
    uv run hadolint Dockerfile
# <<< serving

# >>> kubernetes
# Validate the Kubernetes manifests offline against the schemas of the oldest and newest Kubernetes the validator ships (strict: an unknown field fails).
[group('check')]
check-manifests:
    uv run kubernetes-validate --strict --quiet --kubernetes-version 1.25 deploy/kubernetes/*.yaml
    uv run kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml
# <<< kubernetes

# Run the slow end-to-end tests (planted defects, a fresh clone, the real services they start, DVC refresh, adopting four other tables, the machinery's tests under four drawn schemas) and print their times.
[group('check')]
check-slow:
    # >>> tracking
    uv run --group tracking-server pytest -m slow --no-cov -p no:cacheprovider --durations=0 -rP
    # <<< tracking
    # >>> not tracking
    # uv run pytest -m slow --no-cov -p no:cacheprovider --durations=0 -rP
    # <<< not tracking

# Run the Check workflow's `run:` steps, in order, on a clean clone of HEAD (local uv and just stand in for the setup action).
[group('check')]
ci-dry-run:
    uv run python scripts/dry_run_check.py

# Train on the bundled sample, then gate the candidate: the main job, end to end.
[group('model')]
pipeline: train gate

# Materialise the DVC-pinned sample (pull, or rebuild offline), verify it against data.dvc, validate it.
[group('model')]
data:
    uv run churn-model data

# Update data.dvc from the team's source (`dvc update` of a DVC import; put your own export step before it); says whether the data changed.
[group('model')]
data-refresh:
    uv run churn-model refresh-data

# Validate a CSV or Parquet file against the schema, reporting every problem at once; `--scoring` checks rows to score (the label optional, and blank where unknown).
[group('model')]
[positional-arguments]
validate path *options:
    uv run churn-model validate "$@"

# Materialise the pinned dataset (or read PATH), validate it, fit, evaluate and write a candidate model with its card.
[group('model')]
train data="":
    uv run churn-model train {{ if data == "" { "" } else { quote(data) } }}

# Check the newest candidate against ci/ thresholds and the baseline; exits non-zero on any failure.
[group('model')]
gate:
    uv run churn-model gate

# Promote a candidate that passed the gate (`--candidate ID`, default: the newest) to champion; refreshes ci/baseline.json and docs/model/. Refuses one trained from uncommitted changes unless `--allow-dirty`.
[group('model')]
[positional-arguments]
promote *options:
    uv run churn-model promote "$@"

# Restore the previous champion (registry pointer, ci/baseline.json and docs/model/).
[group('model')]
rollback:
    uv run churn-model rollback

# >>> tracking
# Point MLflow's `champion` alias at the model ci/baseline.json names, registering it if needed (with MLFLOW_TRACKING_URI set; retries a failed registration).
[group('model')]
register:
    uv run churn-model register
# <<< tracking

# Train several seeds on the pinned data (or FILE) and print every metric's spread; `--seeds N`, `--draft PATH` writes a gates.toml from it.
[group('model')]
[positional-arguments]
calibrate *args:
    uv run churn-model calibrate "$@"

# Draft the domain's schema.py from a CSV/Parquet extract (`--label`, `--positive`, `--id`, `--max-categories N`, `--output`, `--force`); prints its guesses and where it wrote it.
[group('model')]
[positional-arguments]
infer-schema file *options:
    uv run churn-model infer-schema "$@"

# >>> tracking
# Run a local MLflow tracking server on 127.0.0.1:PORT (SQLite and artifacts under DIR) to try tracking.
[group('model')]
tracking-server port="5000" dir="mlruns":
    mkdir -p {{ quote(dir) }}
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false uv run --group tracking-server mlflow server --host 127.0.0.1 --port {{ quote(port) }} --backend-store-uri {{ quote("sqlite:///" + dir + "/mlflow.db") }} --artifacts-destination {{ quote(dir + "/artifacts") }} --workers 1
# <<< tracking

# Build the wheel and sdist into dist/, and gather the champion's model + card into dist/model (what every scorer loads); fails without a champion.
[group('serve')]
package:
    uv build --out-dir dist
    uv run churn-model export dist/model

# >>> serving
# Serve the model over HTTP on 127.0.0.1:8000 from dist/model (env MODEL_DIR, HOST, PORT, MAX_BATCH or options override).
[group('serve')]
[positional-arguments]
serve *options:
    uv run churn-model serve "$@"
# <<< serving

# Score a CSV/Parquet table of any length in constant memory (chunks, `--chunk-rows N`): every input column as read, plus <label>_probability and <label>_predicted (the label's own values); written atomically, nothing if any row is invalid.
[group('serve')]
[positional-arguments]
predict input output *options:
    uv run churn-model predict "$@"

# >>> serving
# Build the serving image as TAG from this checkout and dist/model (`just package` first), with docker or podman, whichever works here; prints the build time and the size.
[group('deploy')]
image tag="churn-model:dev":
    uv run python scripts/image.py build {{ quote(tag) }}
# <<< serving

# >>> serving
# Run image TAG hardened (read-only root, no capabilities) and prove it serves: ready in 10 s, /predict equal to `churn-model predict`, a 4xx, non-root, HEALTHCHECK, SIGTERM, a clear error without a model.
[group('deploy')]
image-smoke tag="churn-model:dev":
    uv run python scripts/image.py smoke {{ quote(tag) }}
# <<< serving

# >>> serving
# Copy the model out of image TAG into dist/model (the model the smoke test then expects the deployment to serve).
[group('deploy')]
image-model tag:
    uv run python scripts/image.py model {{ quote(tag) }}
# <<< serving

# >>> serving
# Smoke-test the service running at URL against the model it should serve (default dist/model): health, readiness, model id, a known prediction, a 4xx.
[group('deploy')]
smoke url model_dir="dist/model":
    uv run churn-model smoke {{ quote(url) }} --model-dir {{ quote(model_dir) }}
# <<< serving

# >>> kubernetes
# Roll IMAGE (name@sha256:digest) out with kubectl to the cluster of KUBE_CONFIG (the kubeconfig's text) or the current kubeconfig, in NAMESPACE, and wait until it is ready.
[group('deploy')]
deploy image namespace="":
    uv run python scripts/deploy.py apply {{ quote(image) }} --namespace {{ quote(namespace) }}
# <<< kubernetes

# >>> kubernetes
# Say, as a notice in GitHub Actions, that deploying to ENVIRONMENT is skipped because it is not configured (no KUBE_CONFIG secret or SERVICE_URL variable).
[private]
deploy-not-configured environment:
    @echo "::notice title=Deploy skipped::"{{ quote(environment) }}": not configured (needs the KUBE_CONFIG secret and the SERVICE_URL variable; see docs/serving.md). Nothing was deployed."
# <<< kubernetes

# >>> serving
# Save image TAG (the one `just image-smoke` just tested) to ARCHIVE with `docker save` and print its image ID (its config's digest); in GitHub Actions also write image-id to the step's outputs. Standard library and docker only.
[private]
image-archive tag archive="dist/image.tar":
    uv run --no-project python scripts/publish_image.py archive {{ quote(tag) }} {{ quote(archive) }}
# <<< serving

# >>> serving
# Push the image saved in ARCHIVE as IMAGE:TAG, only if its image ID is TESTED, and fail unless the registry then holds image TESTED under the pushed digest; in GitHub Actions write name, digest and image (name@digest) to the step's outputs. Standard library and docker only.
[private]
image-push archive image tag tested:
    uv run --no-project python scripts/publish_image.py push {{ quote(archive) }} {{ quote(image) }} {{ quote(tag) }} {{ quote(tested) }}
# <<< serving

# >>> serving
# Point IMAGE:latest at the image of the repository's latest release (asked with gh) once it is pushed, again until the latest release stops changing; in GitHub Actions write latest=true when that release is TAG. Standard library, docker and gh only.
[private]
image-latest image tag:
    uv run --no-project python scripts/publish_image.py latest {{ quote(image) }} {{ quote(tag) }}
# <<< serving

# Post "<workflow> failed" with a link to the run to the chat webhook in CHAT_WEBHOOK_URL; does nothing when it is unset.
[private]
notify-failure:
    uv run --no-project python scripts/notify_webhook.py

# Pull the template's newest release (or release REF, a tag such as v1.2.0) into this generated project with copier; then look for conflicts (`git status`), since copier exits 0 even when it leaves some.
[group('template')]
template-update ref="":
    uv run --group template copier update --trust --skip-answered {{ if ref == "" { "" } else { "--vcs-ref " + quote(ref) } }}

# >>> benchmarks
# Time `just check` on a fresh clone of HEAD and warm (prints figures against the budgets); `--against REV` times REV too, alternating, and prints the ratio.
[group('bench')]
[positional-arguments]
bench-check *options:
    uv run python scripts/benchmark_check.py "$@"
# <<< benchmarks

# >>> benchmarks
# Time `just train` + `just gate` on the sample, as subprocesses, and print the figures against the target.
[group('bench')]
[positional-arguments]
bench-train-gate *options:
    uv run python scripts/benchmark_train_gate.py "$@"
# <<< benchmarks

# >>> benchmarks
# Time validation, training and batch prediction at 10k, 100k and 1M rows, with peak memory.
[group('bench')]
bench-pipeline:
    uv run python scripts/benchmark_pipeline.py
# <<< benchmarks

# >>> benchmarks
# Score 1M and 10M generated rows with `churn-model predict`, and 1M with the naive pandas path and the model-bound limit; print rows/s and peak RSS side by side; fails over 500 MB, if memory grows with the rows, or over 1.5x the limit's CPU time (`--rows N..`, `--one-piece`, `--no-yardsticks`).
[group('bench')]
[positional-arguments]
bench-predict *options:
    uv run python scripts/benchmark_predict.py "$@"
# <<< benchmarks

# >>> benchmarks
# Feed `validate` and `predict` the files a hostile review stalled the readers with; print time to refuse and peak memory.
[group('bench')]
bench-bad-files:
    uv run python scripts/benchmark_bad_files.py
# <<< benchmarks

# >>> benchmarks
# >>> serving
# Send the service the bodies and held connections a hostile review stalled it with; print what they cost: time, peak memory, /health latency.
[group('bench')]
bench-bad-requests:
    uv run python scripts/benchmark_bad_requests.py
# <<< serving
# <<< benchmarks

# >>> benchmarks
# >>> serving
# Load-test the service on loopback (starts it on a temporary model unless --url is given) and print latency figures.
[group('bench')]
[positional-arguments]
bench-serve *options:
    uv run python scripts/load_test.py "$@"
# <<< serving
# <<< benchmarks
