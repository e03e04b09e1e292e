"""Where the deploy files live in the repository."""

from __future__ import annotations

from lanes_devstack.paths import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
K8S_BASE = K8S_DIR / "base"
K8S_OVERLAYS = {"dev": K8S_DIR / "overlays" / "dev", "prod": K8S_DIR / "overlays" / "prod"}
CREATE_TOPICS_SCRIPT = K8S_BASE / "create-topics.sh"
PROMETHEUS_CONFIG = REPO_ROOT / "deploy" / "observability" / "prometheus.yml"
