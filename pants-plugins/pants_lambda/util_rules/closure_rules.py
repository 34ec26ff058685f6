"""What a Lambda target's dependency closure holds: first-party code, files and requirements.

Two walks, both honouring `!!` excludes: `LambdaClosure` (TransitiveTargets) for packaging, and
`RequirementStrings` for `generate-lockfiles`, which stops at requirement targets (see there).
"""

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
from pants.engine.addresses import Address, UnparsedAddressInputs
from pants.engine.fs import Snapshot
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    Dependencies,
    DependenciesRequest,
    Target,
    Targets,
    TransitiveTargets,
    TransitiveTargetsRequest,
    WrappedTarget,
    WrappedTargetRequest,
)
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


@dataclass(frozen=True)
class RequirementStringsRequest:
    roots: tuple[Address, ...]


@dataclass(frozen=True)
class RequirementStrings:
    requirements: tuple[str, ...]


@rule(desc="Find the requirements of Lambda targets")
async def requirement_strings(request: RequirementStringsRequest) -> RequirementStrings:
    """The requirement strings in the roots' dependency closure (as LambdaClosure has them).

    The walk stops at requirement targets: their dependency on the resolve's lockfile must not be
    resolved while `generate-lockfiles` is about to write that file for the first time."""
    wrapped = await MultiGet(
        Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin="pants-lambda"))
        for address in request.roots
    )
    seen = set(request.roots)
    frontier = [w.target for w in wrapped]
    requirement_targets: list[Target] = []
    transitive_excludes = []
    while frontier:
        walk = []
        for tgt in frontier:
            if tgt.has_field(PythonRequirementsField):
                requirement_targets.append(tgt)
            elif tgt.has_field(Dependencies):
                walk.append(tgt)
                excludes = tgt[Dependencies].unevaluated_transitive_excludes
                if excludes.values:
                    transitive_excludes.append(excludes)
        dependencies = await MultiGet(
            Get(Targets, DependenciesRequest(tgt[Dependencies])) for tgt in walk
        )
        frontier = []
        for deps in dependencies:
            for dep in deps:
                if dep.address not in seen:
                    seen.add(dep.address)
                    frontier.append(dep)
    # `!!` excludes, as TransitiveTargets applies them: such a requirement is not installed.
    excluded = await MultiGet(
        Get(Targets, UnparsedAddressInputs, excludes) for excludes in transitive_excludes
    )
    excluded_addresses = {tgt.address for targets in excluded for tgt in targets}
    requirements = {
        str(requirement)
        for tgt in requirement_targets
        if tgt.address not in excluded_addresses
        for requirement in tgt[PythonRequirementsField].value
    }
    return RequirementStrings(tuple(sorted(requirements)))


def rules():
    return [*collect_rules(), *python_sources.rules()]
