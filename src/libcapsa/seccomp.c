/* capsa: placeholder until this module lands in this session */
