# Sourced by the docker/ scripts: picks the container engine and the flags it needs here.
#   ENGINE        docker when its daemon answers, else podman
#   BUILD_FLAGS   extra flags for "$ENGINE build"
#   RUN_FLAGS     extra flags for "$ENGINE run"
# CONTAINER_ENGINE=docker|podman overrides the choice. (Not JOBD_*: jobd refuses an environment
# variable of that prefix it does not know, and this one may well be exported.)

if [ -n "${CONTAINER_ENGINE:-}" ]; then
  ENGINE=$CONTAINER_ENGINE
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  ENGINE=docker
elif command -v podman >/dev/null; then
  ENGINE=podman
else
  echo "neither a docker daemon nor podman is available" >&2
  echo "  install podman: apt-get install -y podman buildah runc" >&2
  exit 1
fi

BUILD_FLAGS=()
RUN_FLAGS=()
if [ "$ENGINE" = podman ]; then
  # podman's default descriptor and process limits (1048576) cannot be set where the host's
  # hard limits are lower; ask for the hard limits the caller has instead.
  nofile=$(ulimit -Hn)
  [ "$nofile" = unlimited ] && nofile=1048576
  # Processes and threads: runc was refused any value above 32768 on some hosts even when the
  # caller's hard limit was higher; jobd needs a few hundred at most.
  nproc=$(ulimit -Hu)
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  limits=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
  # crun cannot run on hosts with cgroups in hybrid mode; runc can.
  runtime=()
  command -v runc >/dev/null && runtime=(--runtime runc)
  # HEALTHCHECK and STOPSIGNAL exist only in the docker image format, not in OCI's.
  BUILD_FLAGS=(--format docker "${runtime[@]}" "${limits[@]}")
  RUN_FLAGS=("${runtime[@]}" "${limits[@]}")
fi
