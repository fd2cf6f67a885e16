import { readFileSync } from "node:fs";
import path from "node:path";
import type { Client } from "pg";

// A parser for the subset of the Prisma schema language that prisma/schema.prisma uses, and a comparator
// between that schema and a migrated PostgreSQL database (test/integration/db/schema-drift.test.ts).

export type NativeType = { name: string; args: string[] };
export type ColumnDef = {
  field: string;
  column: string;
  type: string;
  optional: boolean;
  list: boolean;
  nativeType?: NativeType;
};
export type IndexColumn = { column: string; descending: boolean };
export type ModelDef = {
  name: string;
  table: string;
  columns: ColumnDef[];
  primaryKey: string[];
  uniques: string[][];
  indexes: IndexColumn[][];
};
export type EnumDef = { name: string; dbName: string; values: string[] };
export type PrismaSchema = { models: ModelDef[]; enums: EnumDef[] };

type Block = { kind: string; name: string; lines: string[] };
/** Primary key and unique constraints by field name, resolved to columns once every @map is known. */
type FieldKeys = { primaryKey: string[]; uniques: string[][] };
type TypeNames = { modelNames: Set<string>; enumNames: Set<string> };
type Attribute = { name: string; args: string };

const SCALAR_TYPES = new Set(["String", "Boolean", "Int", "BigInt", "Float", "Decimal", "DateTime", "Json", "Bytes"]);

export function readPrismaSchema(file = path.join(__dirname, "..", "..", "prisma", "schema.prisma")): PrismaSchema {
  return parsePrismaSchema(readFileSync(file, "utf8"));
}

export function parsePrismaSchema(source: string): PrismaSchema {
  const blocks = splitBlocks(source);
  const enums = blocks.filter((b) => b.kind === "enum").map(parseEnum);
  const modelNames = new Set(blocks.filter((b) => b.kind === "model").map((b) => b.name));
  const enumNames = new Set(enums.map((e) => e.name));
  const models = blocks.filter((b) => b.kind === "model").map((b) => parseModel(b, modelNames, enumNames));
  return { models, enums };
}

function splitBlocks(source: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (const raw of source.split(/\r?\n/)) {
    const line = stripComment(raw).trim();
    if (!line) continue;
    if (current) {
      if (line === "}") {
        blocks.push(current);
        current = undefined;
      } else current.lines.push(line);
      continue;
    }
    const header = /^(model|enum|generator|datasource)\s+(\w+)\s*\{$/.exec(line);
    if (!header) throw new Error(`unsupported schema line outside a block: ${line}`);
    current = { kind: header[1] ?? "", name: header[2] ?? "", lines: [] };
  }
  if (current) throw new Error(`block ${current.name} is not closed`);
  return blocks;
}

/** Drops a `//` comment, leaving `//` inside string literals alone. */
function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (char === "\\" && inString) i += 1;
    else if (char === '"') inString = !inString;
    else if (!inString && char === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

function parseEnum(block: Block): EnumDef {
  const values: string[] = [];
  let dbName = block.name;
  for (const line of block.lines) {
    if (line.startsWith("@@map(")) dbName = stringArg(line.slice(2));
    else if (line.startsWith("@@")) throw new Error(`unsupported enum attribute in ${block.name}: ${line}`);
    else values.push(firstWord(line));
  }
  return { name: block.name, dbName, values };
}

function parseModel(block: Block, modelNames: Set<string>, enumNames: Set<string>): ModelDef {
  const model: ModelDef = { name: block.name, table: block.name, columns: [], primaryKey: [], uniques: [], indexes: [] };
  const keys: FieldKeys = { primaryKey: [], uniques: [] };
  const blockAttributes: Attribute[] = [];
  for (const line of block.lines) {
    if (line.startsWith("@@")) blockAttributes.push(...parseAttributes(line.slice(1)));
    else parseField(line, model, keys, { modelNames, enumNames });
  }
  for (const attribute of blockAttributes) applyBlockAttribute(model, keys, attribute);
  if (keys.primaryKey.length === 0) throw new Error(`model ${model.name} has no @id or @@id`);
  model.primaryKey = keys.primaryKey.map((field) => columnOf(model, field));
  model.uniques = keys.uniques.map((fields) => fields.map((field) => columnOf(model, field)));
  return model;
}

function parseField(line: string, model: ModelDef, keys: FieldKeys, types: TypeNames): void {
  const match = /^(\w+)\s+(\w+)(\[\])?(\?)?(?:\s+(.*))?$/.exec(line);
  if (!match) throw new Error(`unsupported field in ${model.name}: ${line}`);
  const [, field = "", type = "", list, optional, rest = ""] = match;
  if (types.modelNames.has(type)) return; // relation field: no column of its own
  if (!SCALAR_TYPES.has(type) && !types.enumNames.has(type)) {
    throw new Error(`unknown type ${type} in ${model.name}.${field}`);
  }
  const column: ColumnDef = { field, column: field, type, optional: optional === "?", list: list === "[]" };
  for (const attribute of parseAttributes(rest)) {
    if (attribute.name === "map") column.column = stringArg(`map(${attribute.args})`);
    else if (attribute.name === "id") keys.primaryKey = [field];
    else if (attribute.name === "unique") keys.uniques.push([field]);
    else if (attribute.name.startsWith("db.")) {
      column.nativeType = { name: attribute.name.slice(3), args: splitTopLevel(attribute.args) };
    }
  }
  model.columns.push(column);
}

function applyBlockAttribute(model: ModelDef, keys: FieldKeys, attribute: Attribute): void {
  const fields = (): string[] => fieldList(attribute.args).map((item) => item.field);
  switch (attribute.name) {
    case "map":
      model.table = stringArg(`map(${attribute.args})`);
      break;
    case "id":
      keys.primaryKey = fields();
      break;
    case "unique":
      keys.uniques.push(fields());
      break;
    case "index":
      model.indexes.push(
        fieldList(attribute.args).map((item) => ({ column: columnOf(model, item.field), descending: item.descending })),
      );
      break;
    default:
      throw new Error(`unsupported model attribute @@${attribute.name} in ${model.name}`);
  }
}

function columnOf(model: ModelDef, field: string): string {
  const column = model.columns.find((c) => c.field === field);
  if (!column) throw new Error(`${model.name} has no scalar field ${field}`);
  return column.column;
}

/** `[a, b(sort: Desc)], map: "x"` -> the bracketed fields with their sort order. */
function fieldList(args: string): { field: string; descending: boolean }[] {
  const list = /^\s*(?:fields:\s*)?\[([^\]]*)\]/.exec(args);
  if (!list) throw new Error(`expected a field list in (${args})`);
  return splitTopLevel(list[1] ?? "").map((item) => {
    const match = /^(\w+)(?:\((.*)\))?$/.exec(item);
    if (!match) throw new Error(`unsupported index field ${item}`);
    return { field: match[1] ?? "", descending: /sort:\s*Desc/.test(match[2] ?? "") };
  });
}

/** `@a @b(x, "y)") @db.C(3)` -> [{name, args}], respecting parentheses and strings. */
function parseAttributes(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i] ?? "")) {
      i += 1;
      continue;
    }
    const head = /^@([\w.]+)/.exec(text.slice(i));
    if (!head) throw new Error(`unsupported attribute syntax: ${text.slice(i)}`);
    i += head[0].length;
    let args = "";
    if (text[i] === "(") {
      const end = closingParen(text, i);
      args = text.slice(i + 1, end);
      i = end + 1;
    }
    attributes.push({ name: head[1] ?? "", args });
  }
  return attributes;
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === "\\") i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "(" || char === "[") depth += 1;
    else if (char === ")" || char === "]") {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unbalanced parentheses in ${text}`);
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === "(" || char === "[") depth += 1;
    else if (char === ")" || char === "]") depth -= 1;
    else if (char === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter(Boolean);
}

function stringArg(call: string): string {
  const match = /^\w+\(\s*(?:name:\s*)?"([^"]*)"/.exec(call);
  if (!match) throw new Error(`expected a string argument in ${call}`);
  return match[1] ?? "";
}

function firstWord(line: string): string {
  return line.split(/\s+/)[0] ?? "";
}

// ---- the database side -------------------------------------------------------------------------------

export type DbColumn = { nullable: boolean; udt: string; precision: number | null };
export type DbIndex = { table: string; name: string; unique: boolean; primary: boolean; columns: IndexColumn[] };
export type DatabaseShape = { tables: Map<string, Map<string, DbColumn>>; indexes: DbIndex[]; enums: Map<string, string[]> };

/** Tables of no model that are allowed in the database. */
export const IGNORED_TABLES = new Set(["_prisma_migrations"]);

export async function introspectDatabase(client: Client): Promise<DatabaseShape> {
  return { tables: await readTables(client), indexes: await readIndexes(client), enums: await readEnums(client) };
}

async function readTables(client: Client): Promise<DatabaseShape["tables"]> {
  const tables = new Map<string, Map<string, DbColumn>>();
  const { rows: tableRows } = await client.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  for (const row of tableRows) tables.set(row.table_name, new Map());
  type ColumnRow = {
    table_name: string;
    column_name: string;
    is_nullable: string;
    udt_name: string;
    datetime_precision: number | null;
  };
  const { rows } = await client.query<ColumnRow>(
    `SELECT table_name, column_name, is_nullable, udt_name, datetime_precision
       FROM information_schema.columns WHERE table_schema = current_schema()`,
  );
  for (const row of rows) {
    const column = { nullable: row.is_nullable === "YES", udt: row.udt_name, precision: row.datetime_precision };
    tables.get(row.table_name)?.set(row.column_name, column);
  }
  return tables;
}

async function readIndexes(client: Client): Promise<DbIndex[]> {
  // indkey/indoption are 0-based vectors; expression entries (attnum 0) show as their SQL text.
  type IndexRow = Omit<DbIndex, "columns"> & { columns: string[]; descending: boolean[] };
  const { rows } = await client.query<IndexRow>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            array_agg(coalesce(a.attname::text, pg_get_indexdef(ix.indexrelid, k.ord::int, true)) ORDER BY k.ord) AS columns,
            array_agg((ix.indoption[k.ord - 1] & 1) = 1 ORDER BY k.ord) AS descending
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       CROSS JOIN LATERAL unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
      WHERE n.nspname = current_schema()
      GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary`,
  );
  return rows.map((row) => ({
    table: row.table,
    name: row.name,
    unique: row.unique,
    primary: row.primary,
    columns: row.columns.map((column, i) => ({ column, descending: row.descending[i] ?? false })),
  }));
}

async function readEnums(client: Client): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
       FROM pg_type t
       JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema()
      GROUP BY t.typname`,
  );
  return new Map(rows.map((row) => [row.name, row.values]));
}

// ---- comparison --------------------------------------------------------------------------------------

const DEFAULT_UDT: Record<string, string> = {
  String: "text",
  Boolean: "bool",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Decimal: "numeric",
  DateTime: "timestamp",
  Json: "jsonb",
  Bytes: "bytea",
};

const NATIVE_UDT: Record<string, string> = {
  Uuid: "uuid",
  Text: "text",
  VarChar: "varchar",
  Char: "bpchar",
  Timestamptz: "timestamptz",
  Timestamp: "timestamp",
  Date: "date",
  Integer: "int4",
  SmallInt: "int2",
  BigInt: "int8",
  JsonB: "jsonb",
  Json: "json",
  Boolean: "bool",
  DoublePrecision: "float8",
  Real: "float4",
  Inet: "inet",
};

/** PostgreSQL's udt_name for the column Prisma would create, and the timestamp precision where it has one. */
export function expectedColumnType(column: ColumnDef, enums: EnumDef[]): { udt: string; precision: number | null } {
  const enumDef = enums.find((e) => e.name === column.type);
  const native = column.nativeType;
  const base = enumDef?.dbName ?? (native ? NATIVE_UDT[native.name] : undefined) ?? DEFAULT_UDT[column.type] ?? column.type;
  const isTimestamp = base === "timestamp" || base === "timestamptz";
  // Prisma's DateTime defaults to precision 3; an explicit @db.Timestamptz(n) wins, a bare one is PostgreSQL's 6.
  const precision = !isTimestamp ? null : native ? Number(native.args[0] ?? 6) : 3;
  return { udt: column.list ? `_${base}` : base, precision };
}

/** Every difference between the parsed schema and the database, as readable sentences; empty when in step. */
export function compareSchema(schema: PrismaSchema, db: DatabaseShape): string[] {
  return [
    ...schema.models.flatMap((model) => compareModel(model, schema.enums, db)),
    ...extraTablesAndColumns(schema, db),
    ...extraIndexes(schema, db),
    ...compareEnums(schema.enums, db.enums),
  ];
}

function compareModel(model: ModelDef, enums: EnumDef[], db: DatabaseShape): string[] {
  const columns = db.tables.get(model.table);
  if (!columns) return [`table ${model.table} (model ${model.name}) is missing`];
  const problems = model.columns.flatMap((column) => compareColumn(model.table, column, columns.get(column.column), enums));
  const indexes = db.indexes.filter((index) => index.table === model.table);
  if (!indexes.some((index) => index.primary && sameColumns(index.columns, model.primaryKey))) {
    problems.push(`${model.table}: primary key over (${model.primaryKey.join(", ")}) is missing`);
  }
  for (const unique of model.uniques) {
    if (!indexes.some((index) => index.unique && !index.primary && sameColumns(index.columns, unique))) {
      problems.push(`${model.table}: unique index over (${unique.join(", ")}) is missing`);
    }
  }
  for (const wanted of model.indexes) {
    if (!indexes.some((index) => !index.unique && sameIndexColumns(index.columns, wanted))) {
      problems.push(`${model.table}: index over (${describeIndex(wanted)}) is missing`);
    }
  }
  return problems;
}

function compareColumn(table: string, column: ColumnDef, actual: DbColumn | undefined, enums: EnumDef[]): string[] {
  const name = `${table}.${column.column}`;
  if (!actual) return [`column ${name} is missing`];
  const problems: string[] = [];
  // Prisma's own SQL leaves list columns nullable even when the field is required.
  if (!column.list && actual.nullable !== column.optional) {
    const wanted = column.optional ? "optional" : "required";
    problems.push(`column ${name} is ${actual.nullable ? "nullable" : "NOT NULL"} but the schema says ${wanted}`);
  }
  const expected = expectedColumnType(column, enums);
  if (actual.udt !== expected.udt) problems.push(`column ${name} has type ${actual.udt}, schema wants ${expected.udt}`);
  else if (expected.precision !== null && actual.precision !== expected.precision) {
    problems.push(`column ${name} has precision ${actual.precision}, schema wants ${expected.precision}`);
  }
  return problems;
}

function extraTablesAndColumns(schema: PrismaSchema, db: DatabaseShape): string[] {
  const problems: string[] = [];
  for (const [table, columns] of db.tables) {
    if (IGNORED_TABLES.has(table)) continue;
    const model = schema.models.find((m) => m.table === table);
    if (!model) {
      problems.push(`table ${table} is in the database but not in the schema`);
      continue;
    }
    for (const column of columns.keys()) {
      if (!model.columns.some((c) => c.column === column)) {
        problems.push(`column ${table}.${column} is in the database but not in the schema`);
      }
    }
  }
  return problems;
}

function extraIndexes(schema: PrismaSchema, db: DatabaseShape): string[] {
  return db.indexes
    .filter((index) => !IGNORED_TABLES.has(index.table))
    .filter((index) => {
      const model = schema.models.find((m) => m.table === index.table);
      if (!model) return false; // already reported as an extra table
      if (index.primary) return !sameColumns(index.columns, model.primaryKey);
      if (index.unique) return !model.uniques.some((unique) => sameColumns(index.columns, unique));
      return !model.indexes.some((wanted) => sameIndexColumns(index.columns, wanted));
    })
    .map((index) => {
      const over = describeIndex(index.columns);
      return `${index.table}: index ${index.name} over (${over}) is in the database but not in the schema`;
    });
}

function compareEnums(enums: EnumDef[], dbEnums: Map<string, string[]>): string[] {
  const problems: string[] = [];
  for (const enumDef of enums) {
    const values = dbEnums.get(enumDef.dbName);
    if (!values) problems.push(`enum ${enumDef.dbName} is missing`);
    else if (values.join(",") !== enumDef.values.join(",")) {
      problems.push(`enum ${enumDef.dbName} has values (${values.join(", ")}), schema wants (${enumDef.values.join(", ")})`);
    }
  }
  for (const name of dbEnums.keys()) {
    if (!enums.some((e) => e.dbName === name)) problems.push(`enum ${name} is in the database but not in the schema`);
  }
  return problems;
}

function sameColumns(actual: IndexColumn[], wanted: string[]): boolean {
  return actual.length === wanted.length && actual.every((column, i) => column.column === wanted[i]);
}

function sameIndexColumns(actual: IndexColumn[], wanted: IndexColumn[]): boolean {
  return (
    actual.length === wanted.length &&
    actual.every((c, i) => c.column === wanted[i]?.column && c.descending === wanted[i]?.descending)
  );
}

function describeIndex(columns: IndexColumn[]): string {
  return columns.map((c) => (c.descending ? `${c.column} DESC` : c.column)).join(", ");
}
