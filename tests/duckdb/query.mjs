// query.mjs - run SQL statements in an in-memory DuckDB and print the last
// statement's rows as one JSON array (BigInt as numbers when they fit).
// usage: node query.mjs [--table] 'SQL' ['SQL' ...]   (for tests/test_export.py)
// --table: aligned text columns instead (the README's fleet example).
import { DuckDBInstance } from '@duckdb/node-api';

let stmts = process.argv.slice(2);
const table = stmts[0] === '--table';
if (table) stmts = stmts.slice(1);
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
if (!table) {
  process.stdout.write(JSON.stringify(rows) + '\n');
} else if (rows.length) {
  const cols = Object.keys(rows[0]);
  const cell = (v) => (v === null ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals) => vals.map((v, i) => v.padEnd(w[i])).join('  ').trimEnd();
  console.log(line(cols));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c]))));
} else {
  console.log('(no rows)');
}
