"""Offline proofs of the deploy files: Dockerfile, docker-compose.yml, deploy/k8s."""
