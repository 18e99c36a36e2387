/*
 * What the list and a workflow's page can do to a workflow, with the messages a person reads.
 * Deleting one with active runs is refused by the service (409): that is said as such.
 */
import { useMessage } from 'naive-ui';
import { ref } from 'vue';
import { ApiError } from '@/api/client';
import { useWorkflowStore } from '@/stores/workflows.store';

export function deleteErrorText(e: unknown): string {
  if (e instanceof ApiError && e.status === 409) return `Not deleted: it has active runs. Cancel them (or let them finish) first. (${e.message})`;
  return `Not deleted: ${e instanceof Error ? e.message : String(e)}`;
}

export function useWorkflowActions() {
  const workflows = useWorkflowStore();
  const message = useMessage();
  const busy = ref<string | null>(null);
  /** The workflow whose run dialog is open. */
  const executing = ref<string | null>(null);

  async function act(id: string, what: 'pause' | 'resume' | 'delete'): Promise<boolean> {
    busy.value = `${what}:${id}`;
    try {
      if (what === 'pause') await workflows.pause(id);
      else if (what === 'resume') await workflows.resume(id);
      else await workflows.remove(id);
      message.success(what === 'pause' ? 'Paused: schedules and active runs' : what === 'resume' ? 'Resumed' : 'Workflow deleted');
      return true;
    } catch (e) {
      message.error(what === 'delete' ? deleteErrorText(e) : e instanceof Error ? e.message : String(e), { duration: 8000 });
      return false;
    } finally {
      busy.value = null;
    }
  }

  return { busy, executing, act };
}
