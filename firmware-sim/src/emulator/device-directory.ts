import type { AlibabaTriad, DeviceIdentity } from "@triadkit/protocol";

/** Where the platform looks up device secrets. The emulator's is in memory; a real platform has a database. */
export interface DeviceDirectory {
  lookupSecret(identity: DeviceIdentity): string | undefined;
}

export class MemoryDeviceDirectory implements DeviceDirectory {
  private readonly secrets = new Map<string, string>();

  constructor(triads: Iterable<AlibabaTriad> = []) {
    for (const t of triads) this.add(t);
  }

  add(triad: AlibabaTriad): void {
    this.secrets.set(key(triad), triad.deviceSecret);
  }

  remove(identity: DeviceIdentity): boolean {
    return this.secrets.delete(key(identity));
  }

  lookupSecret(identity: DeviceIdentity): string | undefined {
    return this.secrets.get(key(identity));
  }

  get size(): number {
    return this.secrets.size;
  }
}

function key(identity: DeviceIdentity): string {
  return `${identity.productKey}\u0000${identity.deviceName}`;
}
