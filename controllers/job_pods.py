"""The pods a Job creates: its template, its name, the tracking finalizer and, for Indexed
Jobs, the completion index (annotation, label, ``JOB_COMPLETION_INDEX``, hostname), as
Kubernetes' ``pkg/controller/job/indexed_job_utils.go`` writes them."""

from __future__ import annotations

from apimachinery.models.batch import COMPLETION_INDEX, INDEX_FAILURE_COUNT, TRACKING_FINALIZER, Job
from apimachinery.models.core import EnvVar, EnvVarSource, ObjectFieldSelector, Pod
from apimachinery.models.meta import ObjectMeta
from controllers.base import controller_ref_to

INDEX_ENV = "JOB_COMPLETION_INDEX"
#: Kubernetes keeps a hostname of ``<job>-<index>`` within the DNS label limit.
_HOSTNAME_MAX = 63


def new_pod(job: Job, index: int | None, *, failures: int = 0) -> Pod:
    """A pod of the Job: ``<job>-<random>`` or, with an index, ``<job>-<index>-<random>``."""
    template = job.spec.template
    template_meta = template.metadata or ObjectMeta()
    labels = dict(template_meta.labels or {})
    annotations = dict(template_meta.annotations or {})
    spec = template.spec.model_copy(deep=True)
    prefix = f"{job.metadata.name}-"
    if index is not None:
        prefix = f"{job.metadata.name}-{index}-"
        annotations[COMPLETION_INDEX] = labels[COMPLETION_INDEX] = str(index)
        if job.spec.backoff_limit_per_index is not None:
            annotations[INDEX_FAILURE_COUNT] = str(failures)
        if not spec.hostname:
            spec.hostname = f"{job.metadata.name}-{index}"[:_HOSTNAME_MAX].rstrip("-.")
        ref = EnvVarSource(field_ref=ObjectFieldSelector(field_path=f"metadata.annotations['{COMPLETION_INDEX}']"))
        for container in [*(spec.init_containers or []), *spec.containers]:
            if not any(var.name == INDEX_ENV for var in container.env or []):
                container.env = [*(container.env or []), EnvVar(name=INDEX_ENV, value_from=ref)]
    meta = ObjectMeta(
        generate_name=prefix,
        namespace=job.metadata.namespace,
        labels=labels or None,
        annotations=annotations or None,
        finalizers=[*(template_meta.finalizers or []), TRACKING_FINALIZER],
        owner_references=[controller_ref_to(job)],
    )
    return Pod(metadata=meta, spec=spec)
