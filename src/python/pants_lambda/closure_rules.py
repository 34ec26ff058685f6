"""What a Lambda target's dependency closure holds: first-party code, files and requirements."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name

from pants.backend.python.target_types import PythonRequirementsField
from pants.backend.python.util_rules import python_sources
from pants.backend.python.util_rules.python_sources import (
    PythonSourceFilesRequest,
    StrippedPythonSourceFiles,
)
from pants.core.target_types import FileSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.addresses import Address
from pants.engine.fs import Snapshot
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import TransitiveTargets, TransitiveTargetsRequest
from pants.util.frozendict import FrozenDict


@dataclass(frozen=True)
class LambdaClosureRequest:
    address: Address


@dataclass(frozen=True)
class LambdaClosure:
    # Python sources and resources, relative to their source roots (as they are imported).
    python_files: Snapshot
    # Which of those are `resource`s: data, never compiled, whatever their names.
    resource_paths: frozenset[str]
    # `file` targets' sources, relative to the repository root.
    files: Snapshot
    # Requirement string -> canonical project name, for every requirement in the closure.
    requirements: FrozenDict[str, str]


@rule(desc="Gather a Lambda target's dependency closure")
async def gather_lambda_closure(request: LambdaClosureRequest) -> LambdaClosure:
    transitive = await Get(TransitiveTargets, TransitiveTargetsRequest([request.address]))
    closure = transitive.closure
    stripped, sources_only, files = await MultiGet(
        Get(StrippedPythonSourceFiles, PythonSourceFilesRequest(closure, include_resources=True)),
        Get(StrippedPythonSourceFiles, PythonSourceFilesRequest(closure, include_resources=False)),
        Get(
            SourceFiles,
            SourceFilesRequest(
                (tgt[FileSourceField] for tgt in closure if tgt.has_field(FileSourceField)),
                for_sources_types=(FileSourceField,),
            ),
        ),
    )
    requirements = {
        str(requirement): canonicalize_name(requirement.project_name)
        for tgt in closure
        if tgt.has_field(PythonRequirementsField)
        for requirement in tgt[PythonRequirementsField].value
    }
    python_files = stripped.stripped_source_files.snapshot
    return LambdaClosure(
        python_files=python_files,
        resource_paths=frozenset(python_files.files)
        - frozenset(sources_only.stripped_source_files.snapshot.files),
        files=files.snapshot,
        requirements=FrozenDict(sorted(requirements.items())),
    )


def rules():
    return [*collect_rules(), *python_sources.rules()]
