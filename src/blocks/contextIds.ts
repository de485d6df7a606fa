/**
 * The ids of Add context: its button on the proposal, its modal and the modal's two inputs. Kept
 * apart from actionIds.ts until they move there; the button and the listener read them from here.
 */
export const ContextIds = {
  /** The button on the proposal that opens the modal. */
  open: 'proposal.add_context',
  /** The modal's callback_id. */
  modal: 'proposal.add_context.modal',
  files: { block: 'context_files', action: 'context_files_input' },
  notes: { block: 'context_notes', action: 'context_notes_input' },
} as const;
