"""The GraphQL documents the shim sends to Dagster's webserver (DAGSTER-GRAPHQL.md records what
each answers). Every typed error a field can answer is asked for by `__typename`: Dagster
reports them with HTTP 200 and a `data` body, never as GraphQL errors."""

RUN_FIELDS = """
  runId jobName status creationTime startTime endTime updateTime parentRunId
  tags { key value }
  runConfig
"""

RUNS = f"""
query Runs($filter: RunsFilter, $limit: Int, $cursor: String) {{
  runsOrError(filter: $filter, limit: $limit, cursor: $cursor) {{
    __typename
    ... on Runs {{ count results {{ {RUN_FIELDS} }} }}
    ... on InvalidPipelineRunsFilterError {{ message }}
    ... on PythonError {{ message }}
  }}
}}
"""

ADD_PARTITION = """
mutation AddPartition($repo: RepositorySelector!, $def: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $repo, partitionsDefName: $def, partitionKey: $key) {
    __typename
    ... on DuplicateDynamicPartitionError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

REMOVE_PARTITIONS = """
mutation DeletePartitions($repo: RepositorySelector!, $def: String!, $keys: [String!]!) {
  deleteDynamicPartitions(repositorySelector: $repo, partitionsDefName: $def,
                          partitionKeys: $keys) {
    __typename
    ... on UnauthorizedError { message }
    ... on UnsupportedOperationError { message }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

TERMINATE_RUN = """
mutation Terminate($runId: String!, $policy: TerminateRunPolicy) {
  terminateRun(runId: $runId, terminatePolicy: $policy) {
    __typename
    ... on TerminateRunSuccess { run { status } }
    ... on TerminateRunFailure { message }
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

REMOVE_RUN = """
mutation DeleteRun($runId: String!) {
  deleteRun(runId: $runId) {
    __typename
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

RUN_EVENTS = """
query RunFailureEvents($runId: ID!, $cursor: String, $limit: Int) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events {
        __typename
        ... on MessageEvent { message level }
        ... on ExecutionStepFailureEvent {
          errorSource
          error { message className causes { message className } }
          failureMetadata {
            description metadataEntries { label ... on TextMetadataEntry { text } }
          }
        }
        ... on RunFailureEvent { error { message className } }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

RUN_MATERIALIZATIONS = """
query RunMaterializations($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intRepr }
          ... on TableSchemaMetadataEntry { schema { columns { name type } } }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

REPORT_OBSERVATION = """
mutation ReportObservation($params: ReportRunlessAssetEventsParams!) {
  reportRunlessAssetEvents(eventParams: $params) {
    __typename
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

ASSET_OBSERVATIONS = """
query AssetObservations($key: AssetKeyInput!, $partitions: [String!], $limit: Int) {
  assetOrError(assetKey: $key) {
    __typename
    ... on Asset {
      assetObservations(partitions: $partitions, limit: $limit) { description timestamp }
    }
  }
}
"""

HEALTH = """
query Health {
  version
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy lastHeartbeatTime }
    }
  }
}
"""

PROPERTY_SYNC_RUN = """
query PropertySyncRun($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run {
      runId status startTime endTime
      assetMaterializations {
        assetKey { path }
        metadataEntries {
          label
          ... on IntMetadataEntry { intRepr }
          ... on JsonMetadataEntry { jsonString }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

NEXT_TICK = """
query NextTick($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { futureTicks(limit: 1) { results { timestamp } } }
    ... on ScheduleNotFoundError { message }
    ... on PythonError { message }
  }
}
"""
