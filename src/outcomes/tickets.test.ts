import { describe, expect, it } from 'vitest';
import { closedIssues, taskTags, ticketKeys, ticketsInBranch, ticketsOf } from './tickets.js';

const any = { ticketPrefixes: [] };

describe('tickets', () => {
  it('finds Jira-style keys in messages, not standards or lower-case prose', () => {
    expect(ticketKeys('PROJ-123: fix login (also ENG-7)', any)).toEqual(['PROJ-123', 'ENG-7']);
    expect(ticketKeys('Use UTF-8 and SHA-256 per ISO-8601 with GPT-4; see step-2', any)).toEqual([]);
    expect(ticketKeys('PROJ-0042 again PROJ-42', any)).toEqual(['PROJ-42']);
  });

  it('narrows to configured prefixes, any case', () => {
    expect(ticketKeys('PROJ-1 ENG-2 proj-3', { ticketPrefixes: ['PROJ'] })).toEqual(['PROJ-1', 'PROJ-3']);
  });

  it('reads branch names whatever their case, but not GitHub\'s own branch words', () => {
    expect(ticketsInBranch('feature/proj-123-login', any)).toEqual(['PROJ-123']);
    expect(ticketsInBranch('patch-1', any)).toEqual([]);
    expect(ticketsInBranch('revert-12-feature', any)).toEqual([]);
    expect(ticketsInBranch('release-2026', any)).toEqual([]);
  });

  it('reads no ticket from a version or a dependency bot\'s branch', () => {
    expect(ticketsInBranch('dependabot/npm_and_yarn/react-18.3.1', any)).toEqual([]);
    expect(ticketsInBranch('renovate/lodash-4.x', any)).toEqual([]);
    expect(ticketsInBranch('feature/react-18.3.1-upgrade', any)).toEqual([]);
    expect(ticketKeys('Upgrade to REACT-18.3 and NODE-20.11; fixes ENG-12.', any)).toEqual(['ENG-12']);
    expect(ticketsInBranch('feature/eng-12-bump-react-18.3.1', any)).toEqual(['ENG-12']);
  });

  it('counts GitHub issues only after a closing keyword, qualified by the repository', () => {
    expect(closedIssues('Fixes #45, refs #46. Closes: #47', 'github.com/acme/app')).toEqual(['github.com/acme/app#45', 'github.com/acme/app#47']);
    expect(ticketsOf({ text: 'PROJ-9 resolves #3', branch: 'eng-4-x', repo: 'r' }, any)).toEqual(['PROJ-9', 'ENG-4', 'r#3']);
  });

  it('reads task tags', () => {
    expect(taskTags(['scheduled', 'task:proj-12', 'task:spike-auth-research', 'TASK:ENG-3'])).toEqual(['PROJ-12', 'spike-auth-research', 'ENG-3']);
  });
});
