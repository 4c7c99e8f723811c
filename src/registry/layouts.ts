import { RegistryError } from './errors.js';
import { grpcNamingLayout } from './grpc-naming.js';
import type { LayoutName } from './instance.js';
import { kitexLayout } from './kitex.js';
import type { KeyLayout } from './layout.js';
import { nativeLayout } from './native.js';

export const LAYOUT_NAMES: readonly LayoutName[] = ['native', 'grpc-naming', 'kitex'];

export interface LayoutOptions {
  /** Prefix of the native layout; default `services/`. */
  nativePrefix?: string;
  /** Prefix of the kitex layout; default `kitex/registry-etcd/`. */
  kitexPrefix?: string;
}

/** A layout, or a layout's name with the default prefix. */
export type LayoutChoice = KeyLayout | LayoutName;

/** Resolves a `LayoutChoice`. @throws {RegistryError} `INVALID_LAYOUT` for an unknown name */
export function toLayout(choice: LayoutChoice): KeyLayout {
  return typeof choice === 'string' ? layoutByName(choice) : choice;
}

/**
 * A layout by name.
 * @throws {RegistryError} `INVALID_LAYOUT` for an unknown name or a bad prefix
 */
export function layoutByName(name: string, options: LayoutOptions = {}): KeyLayout {
  switch (name) {
    case 'native':
      return nativeLayout(options.nativePrefix);
    case 'grpc-naming':
      return grpcNamingLayout();
    case 'kitex':
      return kitexLayout(options.kitexPrefix);
    default:
      throw new RegistryError('INVALID_LAYOUT', `unknown layout ${JSON.stringify(name)}: use ${LAYOUT_NAMES.join(', ')}`);
  }
}
