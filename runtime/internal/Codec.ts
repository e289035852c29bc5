/** Encode and decode artifact values by format: tables as Parquet, models as safetensors. */
import type { ArtifactType, ModelValue, Table } from "../../dsl/Artifact.ts"
import { InvariantError } from "../../dsl/Errors.ts"
import * as ModelCodec from "./ModelCodec.ts"
import * as TableCodec from "../TableCodec.ts"

export const encode = (type: ArtifactType, value: unknown): Uint8Array => {
  switch (type.format) {
    case "table":
      if (!Array.isArray(value)) throw new InvariantError({ what: `${type.name} table`, reason: `expected an array of rows, got ${typeof value}` })
      return TableCodec.encode(type as Table, value)
    case "model":
      return ModelCodec.encode(value as ModelValue)
  }
}

export const decode = (type: ArtifactType, bytes: Uint8Array): unknown => {
  switch (type.format) {
    case "table":
      return TableCodec.decode(type as Table, bytes)
    case "model":
      return ModelCodec.decode(bytes)
  }
}
