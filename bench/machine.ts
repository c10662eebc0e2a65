/** The machine a run happened on, and how busy it was: printed and written beside every table. */
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly node: string;
  readonly os: string;
  readonly memoryGiB: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    os: `${osType()} ${release()}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [one, five, fifteen];
}

export function formatLoad([one, five, fifteen]: readonly number[]): string {
  return `${one!.toFixed(2)} / ${five!.toFixed(2)} / ${fifteen!.toFixed(2)}`;
}
