// A minimal Apollo Server 4 with the two operations the request benchmarks
// compare (benches/requests.sh): `{ me { id } }` and the 100-case page.
//
// `me` verifies the HS256 bearer token the way a typical server does (in the
// context function, with jsonwebtoken) and returns the user named by `sub`.
// `cases` works on the rows Tidewatch wrote to PostgreSQL and makes the checks
// Tidewatch makes, one query each: the token's login session (token_families:
// same user, not revoked), the user (active), the project, the membership
// (admins skip it), then one page of cases and, batched, their creators.
//
// Environment: TIDEWATCH_JWT_SECRET (the key Tidewatch signs with),
// DATABASE_URL (Tidewatch's PostgreSQL database; without it `cases` errs),
// PORT (default 4000). Run with NODE_ENV=production.

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import jwt from 'jsonwebtoken';
import pg from 'pg';

const secret = process.env.TIDEWATCH_JWT_SECRET;
if (!secret || secret.length < 32) {
  console.error('TIDEWATCH_JWT_SECRET must be set (at least 32 characters)');
  process.exit(1);
}
const port = Number(process.env.PORT || 4000);
const pool = process.env.DATABASE_URL
  ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 })
  : null;

const typeDefs = `#graphql
  enum CaseKind { HTTP PERF SCRIPT UI }
  type User { id: ID! username: String! }
  type Case {
    id: ID!
    name: String!
    kind: CaseKind!
    tags: [String!]!
    priority: Int!
    createdBy: User
  }
  type CaseConnection { nodes: [Case!]! }
  type Query {
    me: User!
    cases(projectId: ID!, first: Int): CaseConnection!
  }
`;

const unauthenticated = (message) =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });
const notFound = (what) =>
  new GraphQLError(`${what} not found`, { extensions: { code: 'NOT_FOUND' } });

function requireClaims(claims) {
  if (!claims) throw unauthenticated('invalid or expired token');
  return claims;
}

function database() {
  if (!pool) throw new GraphQLError('DATABASE_URL is not set');
  return pool;
}

async function one(sql, params) {
  const result = await database().query(sql, params);
  return result.rows[0];
}

// The checks Tidewatch's `authenticate` makes: live session of this user, active user.
async function viewer(claims) {
  const family = await one('SELECT user_id, revoked_at FROM token_families WHERE id = $1', [
    claims.fam,
  ]);
  if (!family || family.user_id !== claims.sub || family.revoked_at !== null) {
    throw unauthenticated('invalid or expired token');
  }
  const user = await one('SELECT id, username, role, active FROM users WHERE id = $1', [
    claims.sub,
  ]);
  if (!user) throw unauthenticated('invalid or expired token');
  if (!user.active) throw unauthenticated('account is deactivated');
  return user;
}

const resolvers = {
  Query: {
    me: (_parent, _args, { claims }) => ({ id: requireClaims(claims).sub }),
    cases: async (_parent, { projectId, first }, { claims }) => {
      const user = await viewer(requireClaims(claims));
      const project = await one('SELECT id FROM projects WHERE id = $1', [projectId]);
      if (!project) throw notFound('project');
      if (user.role !== 'ADMIN') {
        const member = await one(
          'SELECT role FROM project_members WHERE project_id = $1 AND user_id = $2',
          [projectId, user.id],
        );
        if (!member) throw notFound('project');
      }
      const limit = Math.min(Math.max(first ?? 20, 1), 100);
      const { rows } = await database().query(
        `SELECT id, name, kind, tags, priority, created_by FROM cases
         WHERE project_id = $1 ORDER BY created_at, id LIMIT $2`,
        [projectId, limit],
      );
      const creatorIds = [...new Set(rows.map((row) => row.created_by))];
      const creators = new Map(
        (
          await database().query('SELECT id, username FROM users WHERE id = ANY($1)', [
            creatorIds,
          ])
        ).rows.map((creator) => [creator.id, creator]),
      );
      return {
        nodes: rows.map((row) => ({
          id: row.id,
          name: row.name,
          kind: row.kind,
          tags: JSON.parse(row.tags),
          priority: row.priority,
          createdBy: creators.get(row.created_by) ?? null,
        })),
      };
    },
  },
  User: {
    username: async (user) =>
      user.username ??
      (await one('SELECT username FROM users WHERE id = $1', [user.id]))?.username,
  },
};

const server = new ApolloServer({ typeDefs, resolvers });
const { url } = await startStandaloneServer(server, {
  listen: { port, host: '127.0.0.1' },
  context: async ({ req }) => {
    const header = req.headers.authorization ?? '';
    const match = /^bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { claims: null };
    try {
      return { claims: jwt.verify(match[1], secret, { algorithms: ['HS256'] }) };
    } catch {
      return { claims: null };
    }
  },
});
console.log(`apollo peer listening at ${url}`);
