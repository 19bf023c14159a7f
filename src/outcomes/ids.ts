import { stableId } from '../importers/ids.js';

/**
 * Outcome ids from the natural key of the work, not from the source that reported it: the same commit imported by
 * `goodhart outcomes import-git` and received in a push webhook gets one id, so the store keeps it once.
 */
export const outcomeIds = {
  commit: (repo: string, sha: string) => stableId('oc-commit', repo, sha.toLowerCase()),
  pullRequest: (repo: string, number: number) => stableId('oc-pr', repo, number),
  ticket: (ticket: string) => stableId('oc-ticket', ticket),
  deployment: (repo: string, deploymentId: string) => stableId('oc-deploy', repo, deploymentId),
  custom: (scope: string, externalId: string) => stableId('oc-custom', scope, externalId),
} as const;
