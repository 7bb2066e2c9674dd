/**
 * Two views of the same database shape, built independently so they can be compared:
 * one from `prisma/schema.prisma` (through Prisma's own schema parser, the WASM build that
 * ships with the CLI) and one from a migrated database's catalog.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { get_dmmf } from "@prisma/prisma-schema-wasm";
import type { SqlExecutor } from "../src/migrate";

export interface Shape {
  enums: Record<string, string[]>;
  tables: Record<string, Record<string, { type: string; nullable: boolean; default: string | null }>>;
  /** Keyed by index name: "UNIQUE (a, b DESC)" style definitions, primary keys included. */
  indexes: Record<string, string>;
  /** Keyed by constraint name. */
  foreignKeys: Record<string, string>;
}

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  isUnique: boolean;
  isUpdatedAt: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: "id" | "unique" | "normal" | "fulltext";
  dbName?: string | null;
  fields: { name: string; sortOrder?: "asc" | "desc" }[];
}
interface Dmmf {
  datamodel: {
    enums: { name: string; dbName?: string | null; values: { name: string; dbName?: string | null }[] }[];
    models: DmmfModel[];
    indexes: DmmfIndex[];
  };
}

export const SCHEMA_PATH = resolve(import.meta.dirname, "../../../prisma/schema.prisma");

export function shapeFromPrismaSchema(schemaText: string = readFileSync(SCHEMA_PATH, "utf8")): Shape {
  const dmmf = JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [["schema.prisma", schemaText]] }))) as Dmmf;
  const { enums, models, indexes } = dmmf.datamodel;
  const enumNames = new Set(enums.map((e) => e.name));
  const tableOf = (modelName: string) => {
    const model = models.find((m) => m.name === modelName);
    if (!model) throw new Error(`unknown model ${modelName}`);
    return model.dbName ?? model.name;
  };
  const columnOf = (modelName: string, fieldName: string) => {
    const field = models.find((m) => m.name === modelName)?.fields.find((f) => f.name === fieldName);
    if (!field) throw new Error(`unknown field ${modelName}.${fieldName}`);
    return field.dbName ?? field.name;
  };

  const shape: Shape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };
  for (const e of enums) shape.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  for (const model of models) {
    const table = model.dbName ?? model.name;
    const columns: Shape["tables"][string] = {};
    for (const field of model.fields) {
      if (field.kind === "object") {
        if (field.relationFromFields?.length) {
          const from = field.relationFromFields.map((f) => columnOf(model.name, f));
          const to = (field.relationToFields ?? []).map((f) => columnOf(field.type, f));
          const optional = field.relationFromFields.some(
            (f) => !model.fields.find((x) => x.name === f)?.isRequired,
          );
          const onDelete = field.relationOnDelete ?? (optional ? "SetNull" : "Restrict");
          const onUpdate = field.relationOnUpdate ?? "Cascade";
          shape.foreignKeys[`${table}_${from.join("_")}_fkey`] =
            `(${from.join(", ")}) -> ${tableOf(field.type)}(${to.join(", ")}) ON DELETE ${action(onDelete)} ON UPDATE ${action(onUpdate)}`;
        }
        continue;
      }
      const baseType = field.kind === "enum" || enumNames.has(field.type) ? quoteIdent(field.type) : sqlType(field);
      columns[field.dbName ?? field.name] = {
        type: field.isList ? `${baseType}[]` : baseType,
        nullable: !field.isRequired,
        default: sqlDefault(field, baseType),
      };
    }
    shape.tables[table] = columns;
  }

  for (const index of indexes) {
    const table = tableOf(index.model);
    const columns = index.fields.map((f) => columnOf(index.model, f.name));
    const suffix = index.type === "id" ? "pkey" : index.type === "unique" ? "key" : "idx";
    const name = index.dbName ?? (index.type === "id" ? `${table}_pkey` : `${table}_${columns.join("_")}_${suffix}`);
    const kind = index.type === "id" ? "PRIMARY KEY" : index.type === "unique" ? "UNIQUE" : "INDEX";
    const list = index.fields.map((f, i) => `${columns[i]}${f.sortOrder === "desc" ? " DESC" : ""}`);
    shape.indexes[name] = `${kind} ${table} (${list.join(", ")})`;
  }
  return shape;
}

function action(prismaAction: string): string {
  return (
    { Cascade: "CASCADE", Restrict: "RESTRICT", NoAction: "NO ACTION", SetNull: "SET NULL", SetDefault: "SET DEFAULT" }[
      prismaAction
    ] ?? prismaAction
  );
}

function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name}"`;
}

/** Prisma's PostgreSQL type for a scalar field, spelled as format_type() prints it. */
function sqlType(field: DmmfField): string {
  const [native, args] = field.nativeType ?? [undefined, []];
  const key = native ? `${field.type}@${native}` : field.type;
  switch (key) {
    case "String":
    case "String@Text":
      return "text";
    case "String@Uuid":
      return "uuid";
    case "String@VarChar":
      return args.length ? `character varying(${args[0]})` : "character varying";
    case "Int":
    case "Int@Integer":
      return "integer";
    case "BigInt":
      return "bigint";
    case "Boolean":
      return "boolean";
    case "Float":
      return "double precision";
    case "Decimal":
      return "numeric(65,30)";
    case "Json":
      return "jsonb";
    case "Bytes":
      return "bytea";
    case "DateTime":
      return "timestamp(3) without time zone";
    case "DateTime@Timestamptz":
      return `timestamp(${args[0] ?? 6}) with time zone`;
    case "DateTime@Timestamp":
      return `timestamp(${args[0] ?? 6}) without time zone`;
    default:
      throw new Error(`schema-shape: no PostgreSQL mapping for ${key} (${field.name}); extend sqlType()`);
  }
}

/** The default expression PostgreSQL stores for a field's @default, or null for client-side defaults. */
function sqlDefault(field: DmmfField, baseType: string): string | null {
  const value = field.default;
  if (value === undefined || value === null) return null;
  if (typeof value === "object" && "name" in value) {
    const fn = (value as { name: string }).name;
    if (fn === "now") return "CURRENT_TIMESTAMP";
    if (fn === "uuid" || fn === "cuid" || fn === "nanoid" || fn === "ulid") return null; // generated by the client
    if (fn === "autoincrement") return "autoincrement";
    throw new Error(`schema-shape: unknown default function ${fn}`);
  }
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  // The DMMF carries BigInt defaults as strings; PostgreSQL stores the bare number.
  if (field.type === "BigInt" && typeof value === "string" && /^-?\d+$/.test(value)) return value;
  if (typeof value === "string") return `'${value.replace(/'/g, "''")}'::${baseType}`;
  // A list's empty default (`String[] @default([])`), as PostgreSQL prints ARRAY[]::TEXT[].
  if (Array.isArray(value) && value.length === 0 && field.isList) return `ARRAY[]::${baseType}[]`;
  throw new Error(`schema-shape: unsupported default for ${field.name}`);
}

export async function shapeFromDatabase(db: SqlExecutor): Promise<Shape> {
  const shape: Shape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };

  const enums = await db.query<{ name: string; value: string }>(`
    SELECT t.typname AS name, e.enumlabel AS value
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' ORDER BY t.typname, e.enumsortorder`);
  for (const row of enums.rows) (shape.enums[row.name] ??= []).push(row.value);

  const columns = await db.query<{ table: string; column: string; type: string; notnull: boolean; default: string | null }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> '_prisma_migrations'
    ORDER BY c.relname, a.attnum`);
  for (const row of columns.rows) {
    (shape.tables[row.table] ??= {})[row.column] = {
      type: row.type,
      nullable: !row.notnull,
      default: row.default?.startsWith("nextval(") ? "autoincrement" : row.default,
    };
  }

  const indexes = await db.query<{ name: string; table: string; primary: boolean; unique: boolean; columns: string[] }>(`
    SELECT i.relname AS name, t.relname AS table, x.indisprimary AS primary, x.indisunique AS unique,
           array(
             SELECT a.attname || CASE WHEN (x.indoption[k.ord - 1] & 1) = 1 THEN ' DESC' ELSE '' END
             FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             ORDER BY k.ord
           ) AS columns
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`);
  for (const row of indexes.rows) {
    const kind = row.primary ? "PRIMARY KEY" : row.unique ? "UNIQUE" : "INDEX";
    shape.indexes[row.name] = `${kind} ${row.table} (${row.columns.join(", ")})`;
  }

  const fks = await db.query<{ name: string; table: string; definition: string }>(`
    SELECT con.conname AS name, c.relname AS table, pg_get_constraintdef(con.oid) AS definition
    FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND con.contype = 'f'`);
  for (const row of fks.rows) shape.foreignKeys[row.name] = normaliseForeignKey(row.definition);
  return shape;
}

/** `FOREIGN KEY ("a") REFERENCES "T"(id) ON UPDATE CASCADE ON DELETE CASCADE` -> the shape's spelling. */
function normaliseForeignKey(definition: string): string {
  const m = /^FOREIGN KEY \((.+?)\) REFERENCES (.+?)\((.+?)\)(.*)$/.exec(definition);
  if (!m) return definition;
  const unquote = (s: string) => s.replace(/"/g, "");
  const rest = m[4] ?? "";
  const onDelete = /ON DELETE (CASCADE|RESTRICT|SET NULL|SET DEFAULT|NO ACTION)/.exec(rest)?.[1] ?? "NO ACTION";
  const onUpdate = /ON UPDATE (CASCADE|RESTRICT|SET NULL|SET DEFAULT|NO ACTION)/.exec(rest)?.[1] ?? "NO ACTION";
  return `(${unquote(m[1] ?? "")}) -> ${unquote(m[2] ?? "")}(${unquote(m[3] ?? "")}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`;
}
