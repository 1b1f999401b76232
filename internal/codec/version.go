package codec

// Version is the codec version; archives, datasets and models record it, and
// refuse to mix versions.
const Version = 1
