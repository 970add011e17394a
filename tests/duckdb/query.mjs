// query.mjs - run SQL statements in an in-memory DuckDB and print the last
// statement's rows as one JSON array (BigInt as numbers when they fit).
// usage: node query.mjs 'SQL' ['SQL' ...]      (for tests/test_export.py)
import { DuckDBInstance } from '@duckdb/node-api';

const stmts = process.argv.slice(2);
if (!stmts.length) {
  console.error('usage: node query.mjs SQL...');
  process.exit(2);
}
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
let rows = [];
for (const sql of stmts) {
  const reader = await con.runAndReadAll(sql);
  rows = reader.getRowObjectsJson();
}
process.stdout.write(JSON.stringify(rows) + '\n');
